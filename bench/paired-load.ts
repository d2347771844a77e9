/**
 * Paired load: the stock and the updateable server run at the same time, each
 * under its own identical client, and each pair of measurements comes from
 * the same window of time.
 *
 * Why: on a shared virtual machine the speed of the CPU itself drifts by 20%
 * or more within seconds (a fixed loop here takes 136 to 215 ms from one run
 * to the next). Runs one after the other, however interleaved, carry that
 * drift into their ratio; two servers loaded in the same window share it, and
 * their ratio cancels it. Both servers, both clients and the machine's two
 * cores are shared symmetrically: which server starts first, and which is
 * sampled first, alternates from pair to pair.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";

import { MEMSLAP, WRK, parseWrk } from "../test/support/drivers.js";
import { MemcacheClient } from "../test/support/memcache-client.js";
import { run } from "../test/support/process.js";
import type { RunningServer } from "../test/support/server.js";
import { parseProbe } from "./mcprobe-output.js";
import { cpuNs, procStatus } from "./proc-stats.js";

export type Build = "stock" | "graft";

/** One server's share of one window. */
export interface WindowCounts {
  requests: number;
  seconds: number;
  cpuNs: number;
  /** 99th percentile latency in ms: wrk's (httpd); mcprobe's, one more connection in the window (kvd). */
  p99Ms: number | null;
  /** VmRSS at the window's end. */
  vmRssKb: number;
  errors: number;
}

export interface PairSample {
  pair: number;
  /** The build started, loaded and sampled first in this pair. */
  first: Build;
  stock: WindowCounts;
  graft: WindowCounts;
}

export interface PairedOptions {
  pairs: number;
  warmupSec: number;
  windowSec: number;
  /** Starts a fresh server of the build; the caller's registry stops it if the run is interrupted. */
  start: (build: Build) => Promise<RunningServer>;
  /** bench/mcprobe.c, built: kvd's latency probe. */
  probeExe: string;
  log: (msg: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function orderOf(pair: number): [Build, Build] {
  return pair % 2 === 0 ? ["stock", "graft"] : ["graft", "stock"];
}

/**
 * kvd: each build's server and clients share one CPU, the other build's the
 * other. Left to the scheduler, memcslap's blocking client threads and two
 * servers on two CPUs make windows in which one server is starved (ratios of
 * 0.69 and 1.65 in a run of 16); pinned, four fifths of 90 windows fell
 * within 0.90..1.12 and none outside 0.76..1.26. Which
 * build gets which CPU alternates, so a difference between the CPUs cancels
 * too. httpd is not pinned: wrk is event-driven and shares fairly, and pinned
 * with its server on one CPU its latencies become the scheduler's time slices.
 * With one CPU there is nothing to pin to.
 */
const CPUS = allowedCpus();
const PIN = CPUS.length >= 2 && spawnSync("taskset", ["--version"]).status === 0;

/** The CPUs this process may run on ("Cpus_allowed_list: 0-1,4"). */
function allowedCpus(): number[] {
  const list = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? "";
  return list.split(",").filter(Boolean).flatMap((part) => {
    const [a, b = a] = part.split("-").map(Number);
    return Array.from({ length: b - a + 1 }, (_, i) => a + i);
  });
}

function cpuOf(build: Build, pair: number): number {
  return CPUS[(build === "stock") === (pair % 2 === 0) ? 0 : 1];
}

function pinned(cmd: string, args: string[], cpu: number): [string, string[]] {
  return PIN ? ["taskset", ["-c", String(cpu), cmd, ...args]] : [cmd, args];
}

function pinServer(server: RunningServer, cpu: number): void {
  if (!PIN) return;
  const r = spawnSync("taskset", ["-a", "-p", "-c", String(cpu), String(server.pid)], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`taskset -p ${server.pid}: ${r.stderr}`);
}

async function startBoth(order: [Build, Build], start: PairedOptions["start"]): Promise<Record<Build, RunningServer>> {
  const a = await start(order[0]);
  const b = await start(order[1]).catch(async (e: unknown) => {
    await a.stop();
    throw e;
  });
  return { [order[0]]: a, [order[1]]: b } as Record<Build, RunningServer>;
}

/** httpd: `wrk -t1 -c16` against each server at once, for the same duration; the server's CPU time over it. Not pinned (see PIN). */
export async function pairedHttpd(opts: PairedOptions): Promise<PairSample[]> {
  const out: PairSample[] = [];
  for (let pair = 0; pair < opts.pairs; pair++) {
    const order = orderOf(pair);
    const s = await startBoth(order, opts.start);
    try {
      const url = (b: Build) => `http://127.0.0.1:${s[b].port}/`;
      const load = async (b: Build, sec: number) => {
        const r = await run(WRK, ["-t1", "-c16", `-d${sec}s`, "--latency", url(b)], { timeoutMs: (sec + 30) * 1000 });
        return parseWrk(r.stdout + r.stderr);
      };
      await Promise.all(order.map((b) => load(b, opts.warmupSec)));
      const cpu0 = Object.fromEntries(order.map((b) => [b, cpuNs(s[b].pid)])) as Record<Build, number>;
      const runs = await Promise.all(order.map((b) => load(b, opts.windowSec)));
      const counts = {} as Record<Build, WindowCounts>;
      order.forEach((b, i) => {
        counts[b] = {
          requests: runs[i].requests,
          seconds: runs[i].durationSec,
          cpuNs: cpuNs(s[b].pid) - cpu0[b],
          p99Ms: runs[i].latencyMs.p99,
          vmRssKb: procStatus(s[b].pid).vmRssKb,
          errors: runs[i].totalErrors,
        };
      });
      out.push({ pair, first: order[0], ...counts });
      opts.log(`httpd pair ${pair + 1}/${opts.pairs}: stock ${rate(counts.stock)} req/s, updateable ${rate(counts.graft)} req/s at once`);
    } finally {
      await Promise.all(order.map((b) => s[b].stop()));
    }
  }
  return out;
}

/**
 * kvd: `memcslap --test=set --concurrency=2` against each server at once,
 * pinned (see PIN), started with more work than the window needs (memcslap
 * makes all its keys before it sends the first) and stopped after it, with
 * bench/mcprobe.c on one more connection for the latency; the requests in the
 * window are the servers' own count (stats cmd_set + cmd_get), read at its
 * start and end.
 */
export async function pairedKvd(opts: PairedOptions): Promise<PairSample[]> {
  const out: PairSample[] = [];
  for (let pair = 0; pair < opts.pairs; pair++) {
    const order = orderOf(pair);
    const s = await startBoth(order, opts.start);
    const clients: ChildProcess[] = [];
    const stats: MemcacheClient[] = [];
    try {
      const outputs = order.map(() => ({ text: "" }));
      for (const [i, b] of order.entries()) {
        pinServer(s[b], cpuOf(b, pair));
        const args = [`--servers=127.0.0.1:${s[b].port}`, "--test=set", "--concurrency=2", "--execute-number=200000", "--tcp-nodelay"];
        const c = spawn(...pinned(MEMSLAP, args, cpuOf(b, pair)), { stdio: ["ignore", "pipe", "pipe"] });
        c.stdout?.on("data", (d: Buffer) => (outputs[i].text += d.toString()));
        c.stderr?.on("data", (d: Buffer) => (outputs[i].text += d.toString()));
        clients.push(c);
      }
      for (const b of order) stats.push(await MemcacheClient.connect(s[b].port));
      const sets = async (i: number) => Number((await stats[i].stats()).cmd_set);
      const served = async (i: number) => {
        const st = await stats[i].stats();
        return Number(st.cmd_set) + Number(st.cmd_get);
      };
      for (const deadline = performance.now() + 20_000; ;) {
        if ((await sets(0)) > 0 && (await sets(1)) > 0) break;
        if (performance.now() > deadline) throw new Error(`kvd pair ${pair + 1}: memcslap sent nothing in 20 s:\n${outputs.map((o) => o.text).join("\n")}`);
        await sleep(50);
      }
      await sleep(opts.warmupSec * 1000);
      const sample = async () => {
        const t = performance.now();
        const r = await Promise.all(order.map(async (b, i) => ({ served: await served(i), cpu: cpuNs(s[b].pid) })));
        return { t, r };
      };
      const a = await sample();
      const probes = order.map((b) => probe(opts.probeExe, s[b].port, opts.windowSec, cpuOf(b, pair)));
      await sleep(opts.windowSec * 1000);
      const z = await sample();
      const probed = await Promise.all(probes);
      const counts = {} as Record<Build, WindowCounts>;
      order.forEach((b, i) => {
        const failed = clients[i].exitCode !== null || /(Failure on|Fatal error|Failed|TIMEOUT)/i.test(outputs[i].text);
        counts[b] = {
          // memcslap's sets and the probe's sets and gets: the CPU time went to all of them.
          requests: z.r[i].served - a.r[i].served,
          seconds: (z.t - a.t) / 1000,
          cpuNs: z.r[i].cpu - a.r[i].cpu,
          p99Ms: probed[i].p99Ms,
          vmRssKb: procStatus(s[b].pid).vmRssKb,
          errors: (failed ? 1 : 0) + probed[i].errors,
        };
      });
      out.push({ pair, first: order[0], ...counts });
      opts.log(`kvd pair ${pair + 1}/${opts.pairs}: stock ${rate(counts.stock)} requests/s, updateable ${rate(counts.graft)} requests/s at once`);
    } finally {
      for (const c of clients) c.kill("SIGKILL");
      for (const c of stats) c.close();
      await Promise.all(order.map((b) => s[b].stop()));
    }
  }
  return out;
}

/** mcprobe for `sec` seconds: one connection, closed loop, set and get alternating, every request timed. */
function probe(exe: string, port: number, sec: number, cpu: number): Promise<{ p99Ms: number | null; errors: number }> {
  return new Promise((resolve) => {
    const c = spawn(...pinned(exe, ["127.0.0.1", String(port), String(sec)], cpu), { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    c.stdout.on("data", (d: Buffer) => (out += d.toString()));
    c.stderr.on("data", (d: Buffer) => (out += d.toString()));
    c.on("close", () => {
      const r = parseProbe(out);
      // No line at all (the probe died) counts as an error.
      resolve({ p99Ms: Number.isFinite(r.p99Us) ? r.p99Us / 1000 : null, errors: Number.isFinite(r.errors) ? r.errors : 1 });
    });
  });
}

function rate(w: WindowCounts): string {
  return Math.round(w.requests / w.seconds).toLocaleString("en-US");
}
