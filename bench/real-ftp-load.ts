/**
 * vsftpd under load, both builds at once (the paired design of
 * bench/paired-load.ts): in each window a fresh stock and a fresh
 * updateable vsftpd each get the same number of ftplib clients, every
 * client running anonymous sessions back to back (connect, login, RETR of
 * the test file, quit: one fork of the listener per download), each
 * session timed. All clients count only the sessions that start and end
 * inside the same wall-clock window, so the two builds' counts come from
 * one stretch of time.
 *
 * As for kvd in bench/paired-load.ts, each build's listener (and the
 * session processes it forks, which inherit its affinity) and its clients
 * share one CPU, the other build's the other, swapping every window.
 */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

import { FtplibSession, PYTHON } from "../test/support/real/clients.js";
import { childPids, type RealServer } from "../test/support/real/programs.js";
import { procStatus } from "./proc-stats.js";

export type Build = "stock" | "graft";

/** Timed sessions between t0 and t1 (epoch seconds); one JSON line at the end. */
const CLIENT_SCRIPT = String.raw`
import ftplib, io, json, sys, time
port = int(sys.argv[1]); name = sys.argv[2]; size = int(sys.argv[3]); t0 = float(sys.argv[4]); t1 = float(sys.argv[5])
ok = 0; failed = 0; lat = []; errors = []
while True:
    s = time.time()
    if s >= t1: break
    try:
        f = ftplib.FTP()
        f.connect("127.0.0.1", port, timeout=10)
        f.login()
        buf = io.BytesIO()
        f.retrbinary("RETR " + name, buf.write)
        f.quit()
        e = time.time()
        if len(buf.getvalue()) != size: raise Exception("downloaded %d bytes, expected %d" % (len(buf.getvalue()), size))
        if s >= t0 and e <= t1:
            ok += 1; lat.append((e - s) * 1000.0)
    except Exception as ex:
        if time.time() > t0 and time.time() <= t1 + 1:
            failed += 1
            if len(errors) < 5: errors.append("%s: %s" % (type(ex).__name__, ex))
print(json.dumps({"ok": ok, "failed": failed, "lat": lat, "errors": errors}))
`;

export interface FtpClientResult {
  ok: number;
  failed: number;
  lat: number[];
  errors: string[];
}

/** One ftplib client process counting sessions in [t0, t1] (epoch seconds), pinned to `cpu` when pinning. */
export function ftpClient(port: number, file: string, size: number, t0: number, t1: number, cpu: number | null): Promise<FtpClientResult> {
  const args = ["-c", CLIENT_SCRIPT, String(port), file, String(size), String(t0), String(t1)];
  const [cmd, argv] = cpu !== null && PIN ? ["taskset", ["-c", String(cpu), PYTHON, ...args]] : [PYTHON, args];
  return new Promise((resolve) => {
    const c = spawn(cmd, argv, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    c.stdout.on("data", (d: Buffer) => (out += d.toString()));
    c.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const kill = setTimeout(() => c.kill("SIGKILL"), (t1 - Date.now() / 1000 + 30) * 1000);
    c.on("close", () => {
      clearTimeout(kill);
      try {
        resolve(JSON.parse(out.trim().split("\n").at(-1) ?? "") as FtpClientResult);
      } catch {
        resolve({ ok: 0, failed: 1, lat: [], errors: [`client gave no result: ${out}${err}`.slice(0, 500)] });
      }
    });
  });
}

// ------------------------------------------------------------------ pinning (as bench/paired-load.ts)

function allowedCpus(): number[] {
  const list = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? "";
  return list.split(",").filter(Boolean).flatMap((part) => {
    const [a, b = a] = part.split("-").map(Number);
    return Array.from({ length: b - a + 1 }, (_, i) => a + i);
  });
}

const CPUS = allowedCpus();
export const PIN = CPUS.length >= 2 && spawnSync("taskset", ["--version"]).status === 0;

export function cpuOf(build: Build, pair: number): number {
  return CPUS[(build === "stock") === (pair % 2 === 0) ? 0 : 1];
}

export function pinServer(pid: number, cpu: number): void {
  if (!PIN) return;
  const r = spawnSync("taskset", ["-a", "-p", "-c", String(cpu), String(pid)], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`taskset -p ${pid}: ${r.stderr}`);
}

// ------------------------------------------------------------------ windows

/** user + system time of the process and of its reaped children (vsftpd's listener reaps its sessions), in ns; clock ticks. */
export function cpuWithChildrenNs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // After ')': state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
  const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  return (ticks * 1e9) / 100;
}

export interface FtpWindow {
  downloads: number;
  seconds: number;
  failed: number;
  errors: string[];
  p50Ms: number | null;
  p99Ms: number | null;
  /** Listener and reaped sessions, CPU time over the window (clock ticks: 10 ms). */
  cpuNs: number;
  /** The listener's VmRSS at the window's end. */
  vmRssKb: number;
  /** VmRSS of a held, logged-in session's processes (summed), read after the window. */
  sessionRssKb: number | null;
}

export interface FtpPair {
  pair: number;
  first: Build;
  stock: FtpWindow;
  graft: FtpWindow;
}

export function percentile(xs: number[], p: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * VmRSS of the processes of the one session left once the load's clients are
 * done (the held, logged-in session): the listener's child and its children
 * (vsftpd's privilege-separated pair), summed. Under load, sessions live a
 * few milliseconds, too short to be read from /proc reliably.
 */
async function heldSessionRss(listener: number): Promise<number | null> {
  let total = 0;
  let seen = 0;
  for (const c of await childPids(listener)) {
    for (const p of [c, ...(await childPids(c))]) {
      try {
        const v = procStatus(p).vmRssKb;
        if (Number.isFinite(v)) {
          total += v;
          seen++;
        }
      } catch {
        // gone
      }
    }
  }
  return seen ? total : null;
}

export interface FtpPairedOptions {
  pairs: number;
  warmupSec: number;
  windowSec: number;
  clients: number;
  file: string;
  size: number;
  start: (build: Build) => Promise<RealServer>;
  log: (msg: string) => void;
}

export async function pairedVsftpd(opts: FtpPairedOptions): Promise<FtpPair[]> {
  const out: FtpPair[] = [];
  for (let pair = 0; pair < opts.pairs; pair++) {
    const order: [Build, Build] = pair % 2 === 0 ? ["stock", "graft"] : ["graft", "stock"];
    const s = {} as Record<Build, RealServer>;
    const held = {} as Record<Build, FtplibSession>;
    try {
      for (const b of order) {
        s[b] = await opts.start(b);
        pinServer(s[b].pid, cpuOf(b, pair));
      }
      for (const b of order) {
        held[b] = FtplibSession.start();
        await held[b].connect(s[b].port);
        await held[b].login();
      }
      const now = Date.now() / 1000;
      // Python starts in well under the warm-up; sessions before t0 warm both servers up.
      const t0 = now + opts.warmupSec;
      const t1 = t0 + opts.windowSec;
      const runs = order.map((b) =>
        Promise.all(Array.from({ length: opts.clients }, () => ftpClient(s[b].port, opts.file, opts.size, t0, t1, cpuOf(b, pair)))),
      );
      await sleep((t0 - Date.now() / 1000) * 1000);
      const cpu0 = Object.fromEntries(order.map((b) => [b, cpuWithChildrenNs(s[b].pid)])) as Record<Build, number>;
      await sleep(Math.max(0, (t1 - Date.now() / 1000) * 1000));
      const cpu1 = Object.fromEntries(order.map((b) => [b, cpuWithChildrenNs(s[b].pid)])) as Record<Build, number>;
      const rss = Object.fromEntries(order.map((b) => [b, procStatus(s[b].pid).vmRssKb])) as Record<Build, number>;
      const results = await Promise.all(runs);
      await sleep(100);
      const sessionKb = {} as Record<Build, number | null>;
      for (const b of order) sessionKb[b] = await heldSessionRss(s[b].pid);
      const counts = {} as Record<Build, FtpWindow>;
      order.forEach((b, i) => {
        const rs = results[i];
        const lat = rs.flatMap((r) => r.lat);
        counts[b] = {
          downloads: rs.reduce((n, r) => n + r.ok, 0),
          seconds: opts.windowSec,
          failed: rs.reduce((n, r) => n + r.failed, 0),
          errors: rs.flatMap((r) => r.errors).slice(0, 5),
          p50Ms: percentile(lat, 50),
          p99Ms: percentile(lat, 99),
          cpuNs: cpu1[b] - cpu0[b],
          vmRssKb: rss[b],
          sessionRssKb: sessionKb[b],
        };
      });
      out.push({ pair, first: order[0], ...counts });
      const r = (w: FtpWindow) => `${(w.downloads / w.seconds).toFixed(0)}/s p99 ${w.p99Ms?.toFixed(1) ?? "-"} ms${w.failed ? ` (${w.failed} failed)` : ""}`;
      opts.log(`vsftpd pair ${pair + 1}/${opts.pairs}: stock ${r(counts.stock)}, updateable ${r(counts.graft)} at once`);
    } finally {
      await Promise.all(Object.values(held).map((h) => h.close()));
      await Promise.all(Object.values(s).map((x) => x.stop(1000)));
    }
  }
  return out;
}
