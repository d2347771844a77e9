/**
 * The real programs, stock and updateable side by side in one run: the seed
 * paper's Table 1 for vsftpd 2.0.1 and memcached 1.2.2 (the releases in
 * /work/shared/real, unpacked, built and run by test/support/real/).
 *
 *   npx tsx bench/real.ts [--quick] [--only vsftpd|memcached] [--pairs N] [--keep] [--json FILE]
 *
 * For each program:
 *   - builds, alternating stock and updateable, each in a freshly unpacked
 *     tree: stock is the unmodified release with its own build (`make -j2`,
 *     vsftpd with LIBS="-lpam -lcap -lcrypt"; memcached's autogen.sh +
 *     configure run first, untimed, for both builds, since both read
 *     config.h), updateable is the release with the one update-point edit
 *     built by compileProgram (test/support/real/programs.ts compileReal),
 *     timed; then the executables' bytes, and bytes after `strip -o`;
 *   - patch generation for the first step (vsftpd 2.0.1 -> 2.0.2, memcached
 *     1.2.2 -> 1.2.3; generatePatch from the updateable build), timed, against
 *     one stock build;
 *   - load with both builds at once, in paired windows (bench/paired-load.ts's
 *     design: a fresh pair of servers per window, each build pinned with its
 *     clients to one CPU, swapping every window): vsftpd under parallel ftplib
 *     clients, each downloading the test file in back-to-back anonymous
 *     sessions (bench/real-ftp-load.ts), downloads per second and the p99 of
 *     the sessions' times; memcached under memcslap --test=set with
 *     bench/mcprobe.c for the p99 (bench/paired-load.ts pairedKvd, which speaks
 *     the memcached protocol kvd implements); VmRSS of the server at the
 *     window's end; ratios are medians of the per-window ratios with their 95%
 *     intervals (bench/paired-ratio.ts);
 *   - memcached: memcslap's own reported rate, in sequential rounds (stock and
 *     updateable one after the other, order alternating);
 *   - the update pause: a fresh updateable server under load, the first
 *     step's patch applied through the control socket; pause_us from the
 *     runtime's reply, the new release's identity checked afterwards.
 *
 * Writes bench/results/real-latest.json and .md unless --json says otherwise.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import type { CompileResult } from "../lib/compile/index.js";
import { runMemslap } from "../test/support/drivers.js";
import { applyPatch, waitForControlSocket } from "../test/support/graft.js";
import { MemcacheClient } from "../test/support/memcache-client.js";
import { run } from "../test/support/process.js";
import { freePort } from "../test/support/server.js";
import { ftpGreeting, startFtpLoad, startMemcacheLoad } from "../test/support/real/clients.js";
import {
  compileReal,
  FTP_FILE,
  FTP_FILE_CONTENT,
  missingDebianPackages,
  patchReal,
  prepareTree,
  RealBuildError,
  startReal,
  VSFTPD_LIBS,
  type RealServer,
} from "../test/support/real/programs.js";
import { missingTarballs, RELEASES, unpackRelease, type RealProgram } from "../test/support/real/unpack.js";
import { pairedKvd, type PairSample } from "./paired-load.js";
import { pairedVsftpd, type FtpPair } from "./real-ftp-load.js";
import {
  COMPILE,
  fmt,
  mdTable,
  median,
  MEMORY,
  PATCH_GEN,
  pairedRow,
  roundsRow,
  rowsTable,
  singleRow,
  SIZE,
  SPEED_LAT,
  SPEED_TPUT,
  table,
  type Row,
} from "./real-report.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

// ------------------------------------------------------------------ options

interface Options {
  quick: boolean;
  only: RealProgram[] | null;
  compileRounds: number;
  patchRounds: number;
  pairs: number;
  windowSec: number;
  warmupSec: number;
  ftpClients: number;
  memslapRounds: number;
  memslapN: number;
  pauseRuns: number;
  keep: boolean;
  json: string;
}

function parseArgs(argv: string[]): Options {
  const val = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const usage = "usage: tsx bench/real.ts [--quick] [--only vsftpd|memcached] [--pairs N] [--keep] [--json FILE]";
  if (argv.includes("--help")) {
    console.log(usage);
    process.exit(0);
  }
  for (const a of argv) {
    if (a.startsWith("--") && !["--quick", "--only", "--pairs", "--keep", "--json"].includes(a)) {
      console.error(`bench/real: unknown option ${a}\n${usage}`);
      process.exit(2);
    }
  }
  const only = val("--only");
  if (only !== undefined && only !== "vsftpd" && only !== "memcached") {
    console.error(`bench/real: --only ${only}: expected vsftpd or memcached`);
    process.exit(2);
  }
  const quick = argv.includes("--quick");
  return {
    quick,
    only: only ? [only as RealProgram] : null,
    compileRounds: quick ? 1 : 3,
    patchRounds: quick ? 1 : 2,
    pairs: Number(val("--pairs") ?? (quick ? 4 : 30)),
    windowSec: quick ? 1 : 2,
    warmupSec: 0.5,
    ftpClients: 3,
    memslapRounds: quick ? 2 : 6,
    memslapN: quick ? 2000 : 10000,
    pauseRuns: quick ? 1 : 5,
    keep: argv.includes("--keep"),
    json: val("--json") ?? path.join(ROOT, "bench", "results", "real-latest.json"),
  };
}

// ------------------------------------------------------------------ helpers

const T0 = performance.now();

function log(msg: string) {
  process.stderr.write(`bench/real: [${((performance.now() - T0) / 1000).toFixed(0).padStart(3)} s] ${msg}\n`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

function strippedSize(exe: string, work: string): number {
  const out = path.join(work, `${path.basename(exe)}.stripped.${process.pid}`);
  sh("strip", ["--strip-all", "-o", out, exe]);
  const n = statSync(out).size;
  rmSync(out, { force: true });
  return n;
}

/** The first line of an error, with a GraftError's diagnostics. */
function reasonOf(e: unknown): string {
  const err = e as { message?: string; diagnostics?: { code?: number; message: string; file?: string; line?: number }[] };
  const lines = [String(err.message ?? e).split("\n")[0]];
  for (const d of (err.diagnostics ?? []).slice(0, 5)) lines.push(`[${d.code ?? ""}] ${d.file ? `${d.file}${d.line ? `:${d.line}` : ""}: ` : ""}${d.message}`);
  return lines.join("; ");
}

const servers = new Set<RealServer>();

async function startTracked(program: RealProgram, exe: string, workDir: string, env: NodeJS.ProcessEnv): Promise<RealServer> {
  mkdirSync(workDir, { recursive: true });
  const s = await startReal(program, exe, { port: await freePort(), workDir, env });
  servers.add(s);
  void s.exited.then(() => servers.delete(s));
  return s;
}

// ------------------------------------------------------------------ builds

interface Builds {
  stockExe: string;
  graft: CompileResult;
  graftDir: string;
  stockMs: number[];
  graftMs: number[];
  /** memcached: autogen.sh + configure, once per fresh tree, before either build (untimed in the ratio). */
  configureMs: number[];
  size: { stock: { bytes: number; stripped: number }; graft: { bytes: number; stripped: number; runtimeStripped: number } };
}

/** The release's own build, as test/support/real/programs.ts buildStock runs it, with -j2 (compileProgram uses both cores too). */
async function stockMake(program: RealProgram, dir: string): Promise<{ exe: string; ms: number }> {
  const args = program === "vsftpd" ? ["-j2", `LIBS=${VSFTPD_LIBS.join(" ")}`] : ["-j2", "memcached"];
  const t0 = performance.now();
  const r = await run("make", args, { cwd: dir, timeoutMs: 300_000 });
  const ms = performance.now() - t0;
  if (r.code !== 0) throw new RealBuildError(`stock make of ${program} failed in ${dir}`, r.stdout + r.stderr);
  const exe = path.join(dir, program);
  if (!existsSync(exe)) throw new RealBuildError(`${exe} was not built`, r.stdout + r.stderr);
  return { exe, ms };
}

async function buildAll(program: RealProgram, work: string, opts: Options): Promise<Builds> {
  const base = RELEASES[program][0];
  const b = { stockMs: [], graftMs: [], configureMs: [] } as unknown as Builds;
  for (let r = 0; r < opts.compileRounds; r++) {
    const order = r % 2 === 0 ? (["stock", "graft"] as const) : (["graft", "stock"] as const);
    for (const which of order) {
      const src = path.join(work, program, `${which}-${r}`);
      // Stock: the release as shipped. Updateable: with the one update-point edit.
      const tree = await unpackRelease(program, base, src, { updatePoint: which === "graft" });
      const t0 = performance.now();
      await prepareTree(program, tree.dir);
      if (program === "memcached") b.configureMs.push(performance.now() - t0);
      if (which === "stock") {
        const { exe, ms } = await stockMake(program, tree.dir);
        b.stockMs.push(ms);
        b.stockExe = exe;
        log(`${program} ${base}: stock build ${fmt(ms)} ms`);
      } else {
        const outDir = path.join(work, program, `graft-build-${r}`);
        const t1 = performance.now();
        b.graft = await compileReal(program, tree.dir, outDir);
        const ms = performance.now() - t1;
        b.graftMs.push(ms);
        b.graftDir = outDir;
        const errors = b.graft.diagnostics.filter((d) => d.category === "error");
        if (errors.length) throw new Error(`graft compile ${program}: ${errors.map((d) => d.message).join("; ")}`);
        log(`${program} ${base}: updateable build (compileProgram) ${fmt(ms)} ms`);
      }
    }
  }
  b.size = {
    stock: { bytes: statSync(b.stockExe).size, stripped: strippedSize(b.stockExe, work) },
    graft: {
      bytes: statSync(b.graft.executable).size,
      stripped: strippedSize(b.graft.executable, work),
      runtimeStripped: strippedSize(path.join(path.dirname(b.graft.executable), "libgraft.so.1"), work),
    },
  };
  return b;
}

interface PatchGen {
  step: string;
  ms: number[];
  patchDir: string | null;
  patchSoBytes: number | null;
  error: string | null;
}

async function generateFirstPatch(program: RealProgram, builds: Builds, work: string, opts: Options): Promise<PatchGen> {
  const [from, to] = RELEASES[program];
  const step = `${from}->${to}`;
  const out: PatchGen = { step, ms: [], patchDir: null, patchSoBytes: null, error: null };
  const tree = await unpackRelease(program, to, path.join(work, program, "next"));
  await prepareTree(program, tree.dir);
  for (let r = 0; r < opts.patchRounds; r++) {
    const outDir = path.join(work, program, `patch-${r}`);
    const t0 = performance.now();
    try {
      const p = await patchReal(program, path.dirname(builds.graft.versionDataPath), tree.dir, outDir);
      const ms = performance.now() - t0;
      out.ms.push(ms);
      out.patchDir = path.resolve(p.patchDir);
      const so = path.join(p.patchDir, "patch.so");
      out.patchSoBytes = existsSync(so) ? statSync(so).size : null;
      log(`${program}: patch ${step} generated in ${fmt(ms)} ms`);
    } catch (e) {
      out.error = reasonOf(e);
      log(`${program}: patch ${step} FAILED after ${fmt(performance.now() - t0)} ms: ${out.error}`);
      break;
    }
  }
  return out;
}

// ------------------------------------------------------------ memslap rounds

interface MemslapRound {
  round: number;
  stock: { set: number; get: number; failures: number };
  graft: { set: number; get: number; failures: number };
}

async function memslapRounds(builds: Builds, work: string, env: NodeJS.ProcessEnv, opts: Options): Promise<MemslapRound[]> {
  const out: MemslapRound[] = [];
  for (let r = 0; r < opts.memslapRounds; r++) {
    const order = r % 2 === 0 ? (["stock", "graft"] as const) : (["graft", "stock"] as const);
    const res = {} as Record<"stock" | "graft", { set: number; get: number; failures: number }>;
    for (const b of order) {
      const s = await startTracked("memcached", b === "stock" ? builds.stockExe : builds.graft.executable, path.join(work, "memcached", "run"), env);
      try {
        const set = await runMemslap(s.port, { test: "set", concurrency: 4, executeNumber: opts.memslapN, tcpNodelay: true });
        const get = await runMemslap(s.port, { test: "get", concurrency: 4, executeNumber: opts.memslapN, tcpNodelay: true });
        const rate = (m: typeof set) => (m.keys && m.seconds ? m.keys / m.seconds : NaN);
        res[b] = { set: rate(set), get: rate(get), failures: set.failures + get.failures + (set.exitCode ? 1 : 0) + (get.exitCode ? 1 : 0) };
      } finally {
        await s.stop(1000);
      }
    }
    out.push({ round: r, ...res });
    log(`memcached memcslap round ${r + 1}/${opts.memslapRounds}: set stock ${fmt(res.stock.set)}/s updateable ${fmt(res.graft.set)}/s; get stock ${fmt(res.stock.get)}/s updateable ${fmt(res.graft.get)}/s`);
  }
  return out;
}

// ------------------------------------------------------------------ update pause

interface PauseRun {
  run: number;
  applied: boolean;
  pauseUs: number | null;
  point: number | null;
  reply: string;
  requestMs: number;
  loadErrors: number;
  loadOps: number;
  versionAfter: string;
  expectedVersion: string;
  /** Why there is no pause figure, when there is none. */
  reason: string | null;
}

async function pauseRuns(program: RealProgram, builds: Builds, patch: PatchGen, work: string, env: NodeJS.ProcessEnv, opts: Options): Promise<PauseRun[]> {
  const to = RELEASES[program][1];
  const out: PauseRun[] = [];
  if (!patch.patchDir) return out;
  for (let i = 0; i < opts.pauseRuns; i++) {
    const s = await startTracked(program, builds.graft.executable, path.join(work, program, "pause"), env);
    const r: PauseRun = { run: i, applied: false, pauseUs: null, point: null, reply: "", requestMs: NaN, loadErrors: 0, loadOps: 0, versionAfter: "", expectedVersion: to, reason: null };
    try {
      await waitForControlSocket(s.pid, 5000, env);
      const load = program === "vsftpd" ? startFtpLoad(s.port, FTP_FILE, FTP_FILE_CONTENT, 60) : startMemcacheLoad(s.port);
      await sleep(500);
      const t0 = performance.now();
      try {
        const reply = await applyPatch(s.pid, patch.patchDir, 15_000, env);
        r.requestMs = performance.now() - t0;
        r.reply = reply.line;
        if (reply.ok) {
          r.applied = true;
          r.pauseUs = reply.pauseUs;
          r.point = reply.point;
        } else {
          r.reason = `refused ${reply.code} ${reply.reason}`;
        }
      } catch (e) {
        r.requestMs = performance.now() - t0;
        r.reason = `apply request failed: ${reasonOf(e)}`;
      }
      await sleep(300);
      const l = await load.stop().catch((e: unknown) => ({ failed: 1, errors: [reasonOf(e)], sessions: 0, requests: 0 }));
      r.loadErrors = l.failed;
      r.loadOps = "sessions" in l ? l.sessions : (l as { requests: number }).requests;
      const alive = (await Promise.race([s.exited.then(() => false), sleep(50).then(() => true)])) as boolean;
      if (!alive) {
        r.versionAfter = "(server exited)";
        r.reason = `${r.reason ? `${r.reason}; ` : ""}server exited: ${s.stderr().trim().split("\n").slice(-3).join(" | ")}`;
        r.applied = false;
        r.pauseUs = null;
      } else if (program === "vsftpd") {
        r.versionAfter = await ftpGreeting(s.port).catch((e: unknown) => `(error: ${reasonOf(e)})`);
        if (r.applied && r.versionAfter !== `220 (vsFTPd ${to})`) r.reason = `applied, but new connections are greeted ${JSON.stringify(r.versionAfter)}`;
      } else {
        r.versionAfter = await MemcacheClient.connect(s.port)
          .then(async (c) => {
            try {
              return await c.version();
            } finally {
              c.close();
            }
          })
          .catch((e: unknown) => `(error: ${reasonOf(e)})`);
        if (r.applied && r.versionAfter !== to) r.reason = `applied, but version answers ${JSON.stringify(r.versionAfter)}`;
      }
    } finally {
      await s.stop(1000);
    }
    out.push(r);
    log(`${program}: update ${RELEASES[program][0]}->${to} run ${i + 1}/${opts.pauseRuns}: ${r.applied ? `pause ${r.pauseUs} us at point ${r.point}, request ${fmt(r.requestMs, 1)} ms` : `n/a (${r.reason})`}; load errors ${r.loadErrors} of ${r.loadOps}; version after: ${r.versionAfter}`);
  }
  return out;
}

// -------------------------------------------------------------------- main

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const missing = [...missingDebianPackages().map((p) => `Debian package ${p} (apt-get install ${p})`), ...missingTarballs()];
  if (process.getuid?.() !== 0) missing.push("root (vsftpd runs standalone only as root)");
  if (missing.length) {
    console.error(`bench/real: cannot run: missing ${missing.join(", ")}`);
    process.exit(1);
  }
  const loadBefore = os.loadavg();
  const work = mkdtempSync(path.join(os.tmpdir(), "graft-bench-real-"));
  const runtimeDir = path.join(work, "rt");
  mkdirSync(runtimeDir, { mode: 0o700 });
  // The servers' control sockets go to a directory of this run alone.
  const env: NodeJS.ProcessEnv = { ...process.env, GRAFT_RUNTIME_DIR: runtimeDir };
  const probeExe = path.join(work, "mcprobe");
  sh("gcc", ["-O2", "-Wall", "-o", probeExe, path.join(ROOT, "bench", "mcprobe.c")]);
  const cleanup = () => {
    for (const s of servers) s.proc.kill("SIGKILL");
  };
  process.on("SIGINT", () => {
    cleanup();
    process.exit(130);
  });

  const programs: RealProgram[] = opts.only ?? ["vsftpd", "memcached"];
  log(`${opts.quick ? "quick" : "full"} run: ${programs.join(", ")}; ${opts.pairs} paired windows of ${opts.windowSec} s each; work dir ${work}`);

  const builds = {} as Record<RealProgram, Builds>;
  const patches = {} as Record<RealProgram, PatchGen>;
  const ftpPairs: FtpPair[] = [];
  let mcPairs: PairSample[] = [];
  let slap: MemslapRound[] = [];
  const pauses = {} as Record<RealProgram, PauseRun[]>;
  const failures: string[] = [];

  try {
    for (const p of programs) {
      log(`${p}: building stock and updateable, ${opts.compileRounds} round(s)`);
      builds[p] = await buildAll(p, work, opts);
      patches[p] = await generateFirstPatch(p, builds[p], work, opts);
      if (patches[p].error) failures.push(`${p}: graft patch ${patches[p].step}: ${patches[p].error}`);

      const exeOf = (b: "stock" | "graft") => (b === "stock" ? builds[p].stockExe : builds[p].graft.executable);
      log(`${p}: paired load, ${opts.pairs} windows of ${opts.windowSec} s with both builds at once`);
      if (p === "vsftpd") {
        ftpPairs.push(
          ...(await pairedVsftpd({
            pairs: opts.pairs,
            warmupSec: opts.warmupSec,
            windowSec: opts.windowSec,
            clients: opts.ftpClients,
            file: FTP_FILE,
            size: Buffer.byteLength(FTP_FILE_CONTENT, "latin1"),
            start: (b) => startTracked("vsftpd", exeOf(b), path.join(work, "vsftpd", `run-${b}`), env),
            log,
          })),
        );
      } else {
        mcPairs = await pairedKvd({
          pairs: opts.pairs,
          warmupSec: opts.warmupSec,
          windowSec: opts.windowSec,
          start: (b) => startTracked("memcached", exeOf(b), path.join(work, "memcached", "run"), env),
          probeExe,
          log: (m) => log(m.replace(/^kvd pair/, "memcached pair")),
        });
        slap = await memslapRounds(builds[p], work, env, opts);
      }

      log(`${p}: the update pause, ${opts.pauseRuns} run(s) under load`);
      if (!patches[p].patchDir) log(`${p}: no patch to apply: pause n/a`);
      pauses[p] = await pauseRuns(p, builds[p], patches[p], work, env, opts);
      for (const r of pauses[p]) if (!r.applied || r.reason) failures.push(`${p}: update ${patches[p].step} run ${r.run + 1}: ${r.reason ?? r.reply}`);
    }
  } finally {
    cleanup();
  }

  // ---------------------------------------------------------------- report
  const rows: Row[] = [];
  const leftOut: string[] = [];
  for (const p of programs) {
    const b = builds[p];
    if (p === "vsftpd") {
      // vsftpd 2.0.1 itself fails a PASV now and then under this churn of connections ("500 OOPS: listen", stock and updateable
      // alike): those are counted, and only a window with more than 5% of its sessions failed is left out.
      const bad = (w: FtpPair["stock"]) => w.downloads === 0 || w.failed > 0.05 * (w.downloads + w.failed);
      const ok = ftpPairs.filter((x) => !bad(x.stock) && !bad(x.graft));
      if (ok.length < ftpPairs.length) leftOut.push(`vsftpd: ${ftpPairs.length - ok.length} of ${ftpPairs.length} windows had more than 5% failed sessions and are left out of the ratios`);
      const failed = (b: "stock" | "graft") => ftpPairs.reduce((n, x) => n + x[b].failed, 0);
      const total = (b: "stock" | "graft") => ftpPairs.reduce((n, x) => n + x[b].failed + x[b].downloads, 0);
      const errs = [...new Set(ftpPairs.flatMap((x) => [...x.stock.errors, ...x.graft.errors]))].slice(0, 3);
      leftOut.push(`vsftpd: failed sessions over all windows: stock ${failed("stock")} of ${total("stock")}, updateable ${failed("graft")} of ${total("graft")}${errs.length ? ` (${errs.join("; ")})` : ""}`);
      const what = `${opts.ftpClients} ftplib clients each`;
      rows.push(pairedRow(p, `downloads/s, ${what}, paired`, "1/s", ok, (w) => w.downloads / w.seconds, SPEED_TPUT));
      rows.push(pairedRow(p, "p99 download (session) latency, paired", "ms", ok, (w) => w.p99Ms, SPEED_LAT));
      rows.push(pairedRow(p, "p50 download (session) latency, paired", "ms", ok, (w) => w.p50Ms));
      rows.push(pairedRow(p, "server CPU per download (listener + reaped sessions, 10 ms ticks), paired", "us", ok, (w) => w.cpuNs / 1000 / w.downloads));
      rows.push(pairedRow(p, "listener VmRSS at the window's end, paired", "kB", ok, (w) => w.vmRssKb, MEMORY));
      rows.push(pairedRow(p, "a held logged-in session's processes, VmRSS summed, paired", "kB", ok, (w) => w.sessionRssKb, MEMORY));
    } else {
      const ok = mcPairs.filter((x) => !x.stock.errors && !x.graft.errors);
      if (ok.length < mcPairs.length) leftOut.push(`memcached: ${mcPairs.length - ok.length} of ${mcPairs.length} windows had client errors and are left out of the ratios`);
      rows.push(pairedRow(p, "requests/s (memcslap set + probe, server's stats), paired", "1/s", ok, (w) => w.requests / w.seconds, SPEED_TPUT));
      rows.push(pairedRow(p, "p99 latency (mcprobe), paired", "ms", ok, (w) => w.p99Ms, SPEED_LAT));
      rows.push(pairedRow(p, "server CPU per request, paired", "us", ok, (w) => w.cpuNs / 1000 / w.requests));
      rows.push(pairedRow(p, "VmRSS at the window's end, paired", "kB", ok, (w) => w.vmRssKb, MEMORY));
      const good = slap.filter((r) => !r.stock.failures && !r.graft.failures);
      rows.push(roundsRow(p, `memcslap set rate as memcslap reports it (${opts.memslapRounds} sequential rounds)`, "ops/s", good.map((r) => ({ stock: r.stock.set, graft: r.graft.set }))));
      rows.push(roundsRow(p, `memcslap get rate as memcslap reports it (${opts.memslapRounds} sequential rounds)`, "ops/s", good.map((r) => ({ stock: r.stock.get, graft: r.graft.get }))));
    }
    // The goal is on stripped sizes: vsftpd's own build strips stock, graft compile keeps the symbols for gdb.
    rows.push(singleRow(p, "executable size", "bytes", b.size.stock.bytes, b.size.graft.bytes, undefined, p === "vsftpd" ? "vsftpd's Makefile links stock with -Wl,-s (already stripped); the goal is on the stripped row" : undefined));
    rows.push(singleRow(p, "executable size, stripped (strip -o)", "bytes", b.size.stock.stripped, b.size.graft.stripped, SIZE));
    rows.push(singleRow(p, "executable + libgraft.so.1, stripped", "bytes", b.size.stock.stripped, b.size.graft.stripped + b.size.graft.runtimeStripped));
    rows.push(singleRow(p, `compile time (make -j2 vs compileProgram, median of ${b.stockMs.length})`, "ms", median(b.stockMs), median(b.graftMs), COMPILE));
    const pg = patches[p];
    if (pg.ms.length) {
      rows.push(singleRow(p, `patch generation ${pg.step} vs one stock build (median of ${pg.ms.length})`, "ms", median(b.stockMs), median(pg.ms), PATCH_GEN));
    } else {
      rows.push({ program: p, metric: `patch generation ${pg.step} vs one stock build`, unit: "ms", stock: median(b.stockMs), graft: NaN, ratio: NaN, goal: PATCH_GEN.text, note: `failed: ${pg.error}` });
    }
  }

  const pauseRows = [["program / step", "pause median (us)", "pause max (us)", "request median (ms)", "applied", "load errors / ops", "version after", "note"]];
  const pauseSummary: Record<string, unknown>[] = [];
  for (const p of programs) {
    const rs = pauses[p];
    const pg = patches[p];
    const good = rs.filter((r) => r.applied && !r.reason);
    const pu = good.map((r) => r.pauseUs ?? NaN);
    const reason = !pg.patchDir ? `patch generation failed: ${pg.error}` : good.length < rs.length ? [...new Set(rs.filter((r) => !r.applied || r.reason).map((r) => r.reason))].join("; ") : "";
    const na = pu.length === 0;
    pauseSummary.push({ program: p, step: pg.step, pauseMedianUs: na ? null : median(pu), pauseMaxUs: na ? null : Math.max(...pu), applied: good.length, attempts: rs.length, reason: reason || null });
    pauseRows.push([
      `${p} ${pg.step}`,
      na ? "n/a" : fmt(median(pu)),
      na ? "n/a" : fmt(Math.max(...pu)),
      rs.length ? fmt(median(rs.map((r) => r.requestMs)), 1) : "-",
      `${good.length}/${rs.length}`,
      rs.length ? `${rs.reduce((n, r) => n + r.loadErrors, 0)} / ${rs.reduce((n, r) => n + r.loadOps, 0)}` : "-",
      rs.length ? [...new Set(rs.map((r) => r.versionAfter))].join(", ") : "-",
      [reason, p === "memcached" ? "update point in clock_handler, a 1 s timer: the request waits for one point to start the control thread and a later one to apply" : ""].filter(Boolean).join("; "),
    ]);
  }

  const wallSec = (performance.now() - T0) / 1000;
  const cpu = /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "?";
  const meta = {
    date: new Date().toISOString(),
    command: `npx tsx bench/real.ts ${process.argv.slice(2).join(" ")}`.trim(),
    mode: opts.quick ? "quick" : "full",
    commit: spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).stdout.trim(),
    machine: { cpu, cores: os.cpus().length, kernel: os.release(), memGb: Math.round(os.totalmem() / 2 ** 30) },
    loadAverage: { start: Number(loadBefore[0].toFixed(2)), end: Number(os.loadavg()[0].toFixed(2)) },
    gcc: spawnSync("gcc", ["--version"], { encoding: "utf8" }).stdout.split("\n")[0],
    releases: Object.fromEntries(programs.map((p) => [p, RELEASES[p].slice(0, 2)])),
    load: {
      vsftpd: `${opts.ftpClients} python3 ftplib clients per build, back-to-back anonymous sessions (connect, login, RETR ${FTP_FILE} of ${FTP_FILE_CONTENT.length} bytes, quit)`,
      memcached: "bench/paired-load.ts pairedKvd: memcslap --test=set --concurrency=2 --tcp-nodelay + bench/mcprobe.c; requests from the server's stats",
      memslapRounds: `memcslap --test=set then --test=get, --concurrency=4 --execute-number=${opts.memslapN} --tcp-nodelay`,
      pairs: opts.pairs,
      windowSec: opts.windowSec,
      warmupSec: opts.warmupSec,
    },
    wallSec,
  };

  const goals = rows.filter((r) => r.goal !== undefined);
  const head = `Graft on real programs (${meta.mode}), ${meta.date}, commit ${meta.commit}\n${cpu}, ${meta.machine.cores} cores, ${meta.gcc}; load average ${meta.loadAverage.start} at start, ${meta.loadAverage.end} at end`;
  const notes = [
    ...rows.filter((r) => r.note).map((r) => `  ${r.program} ${r.metric}: ${r.note}`),
    ...leftOut.map((l) => `  ${l}`),
  ];
  const text = [
    head,
    "",
    `vsftpd ${RELEASES.vsftpd[0]} and memcached ${RELEASES.memcached[0]}, updateable vs stock; ratio = updateable / stock; paired rows: median of ${opts.pairs} per-window ratios with both builds running at once`,
    table(rowsTable(rows)),
    ...(notes.length ? ["", "Notes:", ...notes] : []),
    "",
    "Update pause (first step, applied to a fresh updateable server under load; pause_us from the runtime's reply)",
    table(pauseRows),
    "",
    "Goals (speed within 1%, memory <= 1.05x, size <= 1.3x, updateable compile <= 3x stock, patch generation <= 2x one stock build):",
    ...goals.map((r) => `  ${!Number.isFinite(r.ratio) ? "n/a    " : r.met ? "met    " : "NOT MET"}  ${r.program} ${r.metric}: ${fmt(r.ratio, 3)} (goal ${r.goal})${r.conclusive === false ? "  [the 95% interval reaches across the goal, or too few windows]" : ""}${r.note && !Number.isFinite(r.ratio) ? ` [${r.note}]` : ""}`),
    ...(failures.length ? ["", "What failed in lib/ (or the runtime):", ...[...new Set(failures)].map((f) => `  ${f}`)] : []),
    `Wall time ${fmt(wallSec, 0)} s`,
  ].join("\n");
  console.log("\n" + text);

  const md = [
    `Run: \`${meta.command}\` on ${meta.date.slice(0, 16).replace("T", " ")} UTC, commit ${meta.commit}; ${cpu}, ${meta.machine.cores} cores; ${meta.gcc}; load average ${meta.loadAverage.start} at start, ${meta.loadAverage.end} at end; wall time ${fmt(wallSec)} s.`,
    "",
    mdTable(rowsTable(rows)),
    "",
    mdTable(pauseRows),
    "",
    ...(notes.length ? ["Notes:", "", ...notes.map((n) => `- ${n.trim()}`), ""] : []),
    ...(failures.length ? ["Failures:", "", ...[...new Set(failures)].map((f) => `- ${f}`), ""] : []),
  ].join("\n");

  mkdirSync(path.dirname(opts.json), { recursive: true });
  writeFileSync(
    opts.json,
    JSON.stringify(
      {
        meta,
        goals: { speed: "within 1% (throughput ratio >= 0.99, p99 latency ratio <= 1.01)", memory: "<= 1.05x", size: "<= 1.3x", compile: "<= 3x stock", patchGeneration: "<= 2x one stock build" },
        rows,
        builds: Object.fromEntries(programs.map((p) => [p, { stockMs: builds[p].stockMs, graftMs: builds[p].graftMs, configureMs: builds[p].configureMs, size: builds[p].size }])),
        patches,
        paired: { vsftpd: ftpPairs, memcached: mcPairs },
        memslapRounds: slap,
        pauses: { summary: pauseSummary, runs: pauses },
        failures,
      },
      null,
      2,
    ) + "\n",
  );
  writeFileSync(opts.json.replace(/\.json$/, "") + ".md", md);
  log(`wrote ${path.relative(process.cwd(), opts.json)} and ${path.relative(process.cwd(), opts.json.replace(/\.json$/, ".md"))}`);
  if (!opts.keep) rmSync(work, { recursive: true, force: true });
  else log(`kept ${work}`);
}

main().catch((e) => {
  for (const s of servers) s.proc.kill("SIGKILL");
  console.error("bench/real: failed:", e instanceof Error ? (e.stack ?? e.message) : e);
  const diags = (e as { diagnostics?: unknown }).diagnostics;
  if (diags) console.error(JSON.stringify(diags, null, 2));
  process.exit(1);
});
