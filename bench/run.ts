/**
 * Graft benchmarks: the updateable build against the stock one, side by side
 * in one run, and the costs of updating.
 *
 *   npm run bench                 (setup, then this)
 *   npx tsx bench/run.ts [--quick] [--rounds N] [--pairs N] [--only kvd|httpd] [--keep] [--json FILE]
 *
 * For each sample server (native/examples/kvd and httpd, release v0):
 *   - builds it stock (its own Makefile, `make -j2`) and updateable
 *     (compileProgram, as `graft compile` does) with the same CFLAGS, timing
 *     both, alternating, and measures the executables (bytes, stripped bytes);
 *   - runs the same load against both, interleaved (rounds alternate which
 *     build goes first: A B, B A, ...), each run on a fresh server process:
 *     httpd under wrk (throughput, p99 from --latency), kvd under memcslap
 *     (throughput of its set and get tests; memcslap reports no latency, so a
 *     one-connection probe, bench/mcprobe.c, times requests alongside it);
 *     after the load it reads VmRSS and VmHWM from /proc/PID/status;
 *   - runs both builds at once under identical clients (paired load,
 *     bench/paired-load.ts), so that each ratio comes from one window of time
 *     and the machine's drifting speed cancels; reports the median of the
 *     per-window ratios with its 95% interval;
 *   - counts the instructions per request under cachegrind (one request per
 *     turn of the event loop, and pipelined 50 to a write), which unlike
 *     throughput do not move with the load of a shared machine;
 *   - reports medians and the ratio updateable/stock against the goals of
 *     issue 3 (speed within 1%, memory <= 1.05x, size <= 1.3x);
 * then the update costs: patch generation time v0->v1 and v1->v2, the update
 * pause (pause_us from the runtime's reply) with the server under load, the
 * lazy transformations a type change leaves for later (kvd, cachegrind), and
 * the cost of the updateability analysis, timed apart from parsing.
 * docs/benchmarks.md explains each figure.
 *
 * Writes bench/results/latest.json (and latest.md, the tables in Markdown).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { compileProgram } from "../lib/compile/index.js";
import { generatePatch } from "../lib/patch/index.js";
import { parseProgram, unameOf } from "../lib/cfront/program.js";
import { collectFacts } from "../lib/analysis/facts.js";
import { analysePoint } from "../lib/analysis/safety.js";
import { libcExports } from "../lib/compile/toolchain.js";
import { curl, missingTools, runMemslap, runWrk, type MemslapResult, type WrkResult } from "../test/support/drivers.js";
import { freePort, startServer, type RunningServer } from "../test/support/server.js";
import { makeDocroot } from "../test/support/examples.js";
import { pairedHttpd, pairedKvd, type PairSample } from "./paired-load.js";
import { parseProbe, type ProbeResult } from "./mcprobe-output.js";
import { pairedRatio } from "./paired-ratio.js";
import { runtimeOnlyStrippedSize } from "./size-floor.js";
import { cpuNs, procStatus } from "./proc-stats.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const EXAMPLES = path.join(ROOT, "native", "examples");
const GRAFT_INCLUDE = path.join(ROOT, "native", "runtime", "include");
const LIBGRAFT = path.join(ROOT, "native", "runtime", "build", "libgraft.a");

// ------------------------------------------------------------------ options

interface Options {
  quick: boolean;
  rounds: number;
  compileRounds: number;
  updateRuns: number;
  analysisReps: number;
  wrkSec: number;
  wrkWarmupSec: number;
  memslapN: number;
  /** Paired load: pairs of windows in which both builds run at once, and each window's length. */
  pairs: number;
  pairWindowSec: number;
  only: Program[] | null;
  keep: boolean;
  json: string;
}

type Program = "kvd" | "httpd";

function parseArgs(argv: string[]): Options {
  const quick = argv.includes("--quick");
  const val = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  for (const a of argv) {
    if (a.startsWith("--") && !["--quick", "--rounds", "--pairs", "--only", "--keep", "--json", "--help"].includes(a)) {
      console.error(`bench: unknown option ${a}`);
      process.exit(2);
    }
  }
  if (argv.includes("--help")) {
    console.log("usage: tsx bench/run.ts [--quick] [--rounds N] [--pairs N] [--only kvd|httpd] [--keep] [--json FILE]");
    process.exit(0);
  }
  const only = val("--only");
  if (only && only !== "kvd" && only !== "httpd") {
    console.error(`bench: --only ${only}: expected kvd or httpd`);
    process.exit(2);
  }
  return {
    quick,
    rounds: Number(val("--rounds") ?? (quick ? 2 : 6)),
    compileRounds: quick ? 1 : 2,
    updateRuns: quick ? 2 : 5,
    analysisReps: quick ? 3 : 10,
    wrkSec: quick ? 2 : 5,
    wrkWarmupSec: 1,
    memslapN: quick ? 3000 : 10000,
    pairs: Number(val("--pairs") ?? (quick ? 6 : 30)),
    pairWindowSec: quick ? 1 : 2,
    only: only ? [only as Program] : null,
    keep: argv.includes("--keep"),
    json: val("--json") ?? path.join(ROOT, "bench", "results", "latest.json"),
  };
}

// ------------------------------------------------------------------ helpers

const PROGRAMS: Record<Program, { files: string[] }> = {
  kvd: { files: ["main.c", "proto.c", "store.c"] },
  httpd: { files: ["main.c", "http.c", "handlers.c", "kv.c"] },
};

/** The Makefiles' flags: CFLAGS ?= -O2 -g, then += the rest. Both builds get exactly these. */
const CFLAGS = ["-O2", "-g", "-std=c11", "-Wall", "-Wextra", "-D_POSIX_C_SOURCE=200809L", `-I${GRAFT_INCLUDE}`];

const children = new Set<ChildProcess>();
const servers = new Set<RunningServer>();

const T0 = performance.now();

function log(msg: string) {
  process.stderr.write(`bench: [${((performance.now() - T0) / 1000).toFixed(0).padStart(3)} s] ${msg}\n`);
}

function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function sh(cmd: string, args: string[], opts: { cwd?: string } = {}): string {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, encoding: "utf8" });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

function timed<T>(f: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  return f().then((value) => ({ value, ms: performance.now() - t0 }));
}

function fileSize(p: string): number {
  return statSync(p).size;
}

function strippedSize(exe: string, work: string): number {
  const out = path.join(work, `${path.basename(exe)}.stripped.${process.pid}`);
  sh("strip", ["--strip-all", "-o", out, exe]);
  const n = fileSize(out);
  rmSync(out, { force: true });
  return n;
}

/** text+data of object files, from `size` (berkeley format). */
function objectCodeSize(objects: string[]): number {
  if (objects.length === 0) return NaN;
  const out = sh("size", objects);
  let total = 0;
  for (const line of out.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 3 && /^\d+$/.test(f[0])) total += Number(f[0]) + Number(f[1]);
  }
  return total;
}

/** Bytes of the dynamic linking sections (.dynsym, .dynstr, .gnu.hash, .hash), from `size -A`. */
function dynamicSymbolBytes(exe: string): number {
  let total = 0;
  for (const line of sh("size", ["-A", exe]).split("\n")) {
    const f = line.trim().split(/\s+/);
    if ([".dynsym", ".dynstr", ".gnu.hash", ".hash"].includes(f[0])) total += Number(f[1]);
  }
  return total;
}

// ---------------------------------------------------------------- builds

interface BuildTimes {
  stockMs: number[];
  graftMs: number[];
}

interface Builds {
  stockExe: string;
  graftExe: string;
  graftDir: string;
  times: BuildTimes;
  size: {
    stock: { bytes: number; stripped: number; programObjects: number };
    graft: { bytes: number; stripped: number; programObjects: number; runtimeStripped: number };
    /** Where the updateable executable's extra bytes come from (text+data, not file bytes). */
    breakdown: { libgraftTextData: number; dynamicSymbolsStock: number; dynamicSymbolsGraft: number; runtimeOnlyStripped: number };
  };
}

async function buildStock(program: Program, outDir: string): Promise<number> {
  mkdirSync(outDir, { recursive: true });
  const dir = path.join(EXAMPLES, program, "v0");
  const t0 = performance.now();
  const r = spawnSync("make", ["-j2", "-C", dir, `OUT=${outDir}`, `GRAFT_INCLUDE=${GRAFT_INCLUDE}`], { encoding: "utf8" });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`stock make of ${program} failed:\n${r.stdout}${r.stderr}`);
  return ms;
}

async function buildAll(program: Program, work: string, opts: Options): Promise<Builds> {
  const times: BuildTimes = { stockMs: [], graftMs: [] };
  let stockDir = "";
  let graftDir = "";
  let graftExe = "";
  for (let r = 0; r < opts.compileRounds; r++) {
    const order = r % 2 === 0 ? ["stock", "graft"] : ["graft", "stock"];
    for (const which of order) {
      if (which === "stock") {
        stockDir = path.join(work, `${program}-stock-${r}`);
        times.stockMs.push(await buildStock(program, stockDir));
      } else {
        graftDir = path.join(work, `${program}-graft-${r}`);
        const { value, ms } = await timed(() =>
          compileProgram({
            name: program,
            files: PROGRAMS[program].files,
            outDir: graftDir,
            cflags: CFLAGS,
            cwd: path.join(EXAMPLES, program, "v0"),
            insecureAcceptUnsigned: true,
          }),
        );
        times.graftMs.push(ms);
        graftExe = value.executable;
      }
    }
  }
  const stockExe = path.join(stockDir, program);
  const stockObjs = PROGRAMS[program].files.map((f) => path.join(stockDir, f.replace(/\.c$/, ".o")));
  const graftWork = path.join(graftDir, `.graft-build-${program}`);
  const graftObjs = PROGRAMS[program].files.map((f, i) => path.join(graftWork, `${i}-${f.replace(/\.c$/, ".o")}`)).filter(existsSync);
  return {
    stockExe,
    graftExe,
    graftDir,
    times,
    size: {
      stock: { bytes: fileSize(stockExe), stripped: strippedSize(stockExe, work), programObjects: objectCodeSize(stockObjs) },
      graft: {
        bytes: fileSize(graftExe), stripped: strippedSize(graftExe, work), programObjects: objectCodeSize(graftObjs),
        // The shared runtime the program loads from beside itself (graft compile copies it there).
        runtimeStripped: strippedSize(path.join(graftDir, "libgraft.so.1"), work),
      },
      breakdown: {
        libgraftTextData: objectCodeSize([LIBGRAFT]),
        dynamicSymbolsStock: dynamicSymbolBytes(stockExe),
        dynamicSymbolsGraft: dynamicSymbolBytes(graftExe),
        runtimeOnlyStripped: runtimeOnlyStrippedSize(stockObjs, CFLAGS, work, program),
      },
    },
  };
}

// ----------------------------------------------------------------- servers

async function start(program: Program, exe: string, env: NodeJS.ProcessEnv, docroot: string): Promise<RunningServer> {
  const port = await freePort();
  const args = program === "kvd" ? ["-p", String(port)] : ["-p", String(port), "-d", docroot];
  const s = await startServer(exe, args, { port, env });
  servers.add(s);
  void s.exited.then(() => servers.delete(s));
  return s;
}

interface KvdRun {
  build: "stock" | "graft";
  round: number;
  setOpsPerSec: number;
  getOpsPerSec: number;
  probe: ProbeResult;
  /** Server CPU time over the set and get tests, per request served (memcslap's and the probe's). */
  cpuUsPerOp: number;
  failures: number;
  vmRssKb: number;
  vmHwmKb: number;
}

interface HttpdRun {
  build: "stock" | "graft";
  round: number;
  requestsPerSec: number;
  p50Ms: number | null;
  p99Ms: number | null;
  /** Server CPU time during the measured wrk run, per request. */
  cpuUsPerRequest: number;
  errors: number;
  vmRssKb: number;
  vmHwmKb: number;
}

function startProbe(probeExe: string, port: number): { done: Promise<string>; stop: () => void } {
  const child = spawn(probeExe, ["127.0.0.1", String(port)], { stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  let out = "";
  child.stdout.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr.on("data", (b: Buffer) => (out += b.toString()));
  const done = new Promise<string>((resolve) => {
    child.on("close", () => {
      children.delete(child);
      resolve(out);
    });
  });
  return { done, stop: () => child.kill("SIGTERM") };
}

/** The max column of wrk's "Latency avg stdev max" line, in ms. */
function wrkMaxMs(output: string): number | null {
  const m = /Latency\s+[\d.]+\w+\s+[\d.]+\w+\s+([\d.]+)(us|ms|s)/.exec(output);
  if (!m) return null;
  return Number(m[1]) * (m[2] === "us" ? 1e-3 : m[2] === "s" ? 1e3 : 1);
}

function memslapRate(r: MemslapResult): number {
  return r.keys && r.seconds ? r.keys / r.seconds : NaN;
}

async function kvdRun(build: "stock" | "graft", round: number, exe: string, probeExe: string, env: NodeJS.ProcessEnv, opts: Options): Promise<KvdRun> {
  const s = await start("kvd", exe, env, "");
  try {
    const cpu0 = cpuNs(s.pid);
    const probe = startProbe(probeExe, s.port);
    const set = await runMemslap(s.port, { test: "set", concurrency: 4, executeNumber: opts.memslapN, tcpNodelay: true });
    const get = await runMemslap(s.port, { test: "get", concurrency: 4, executeNumber: opts.memslapN, tcpNodelay: true });
    probe.stop();
    const probeOut = await probe.done;
    const cpu = cpuNs(s.pid) - cpu0;
    const mem = procStatus(s.pid);
    const probeResult = parseProbe(probeOut);
    const ops = (set.keys ?? NaN) + (get.loaded ?? 0) + (get.keys ?? NaN) + probeResult.ops;
    return {
      build,
      round,
      setOpsPerSec: memslapRate(set),
      getOpsPerSec: memslapRate(get),
      probe: probeResult,
      cpuUsPerOp: cpu / 1000 / ops,
      failures: set.failures + get.failures + (Number.isFinite(probeResult.errors) ? probeResult.errors : 1),
      ...mem,
    };
  } finally {
    await s.stop();
  }
}

async function httpdRun(build: "stock" | "graft", round: number, exe: string, docroot: string, env: NodeJS.ProcessEnv, opts: Options): Promise<HttpdRun> {
  const s = await start("httpd", exe, env, docroot);
  try {
    const url = `http://127.0.0.1:${s.port}/`;
    await runWrk(url, { threads: 2, connections: 32, durationSec: opts.wrkWarmupSec });
    const cpu0 = cpuNs(s.pid);
    const w: WrkResult = await runWrk(url, { threads: 2, connections: 32, durationSec: opts.wrkSec });
    const cpu = cpuNs(s.pid) - cpu0;
    const mem = procStatus(s.pid);
    return {
      build,
      round,
      requestsPerSec: w.requestsPerSec,
      p50Ms: w.latencyMs.p50,
      p99Ms: w.latencyMs.p99,
      cpuUsPerRequest: cpu / 1000 / w.requests,
      errors: w.totalErrors,
      ...mem,
    };
  } finally {
    await s.stop();
  }
}

// ------------------------------------------------- instructions (cachegrind)

interface InstructionCount {
  build: "stock" | "graft";
  /** Requests to a write: 1 = closed loop, one request per turn of the event loop; more = pipelined. */
  depth: number;
  /** Two runs, small and large (for httpd: idle and loaded): the difference cancels start-up and shut-down. */
  small: { ir: number; requests: number };
  large: { ir: number; requests: number };
  perRequest: number;
}

/** Instructions the server executes (all threads, user space, libc included) over one workload under cachegrind. */
async function cachegrindRun(
  program: Program,
  exe: string,
  env: NodeJS.ProcessEnv,
  docroot: string,
  workload: (port: number, pid: number) => Promise<number>,
): Promise<{ ir: number; requests: number }> {
  const port = await freePort();
  const args = program === "kvd" ? ["-p", String(port)] : ["-p", String(port), "-d", docroot];
  const s = await startServer("valgrind", ["--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null", exe, ...args], {
    port,
    env,
    readyTimeoutMs: 30_000,
  });
  servers.add(s);
  try {
    const requests = await workload(port, s.pid);
    // SIGUSR2, which neither program nor libgraft handles: the process ends
    // where it is, without its shutdown path (kvd's store_shutdown walks
    // every item, which after an update would transform them all), and
    // valgrind still writes its summary.
    s.proc.kill("SIGUSR2");
    const timer = setTimeout(() => s.proc.kill("SIGKILL"), 20_000);
    await s.exited;
    clearTimeout(timer);
    const m = /I\s+refs:\s+([\d,]+)/.exec(s.stderr());
    if (!m) throw new Error(`no instruction count from cachegrind:\n${s.stderr().slice(-2000)}`);
    return { ir: Number(m[1].replace(/,/g, "")), requests };
  } finally {
    await s.stop(1000);
    servers.delete(s);
  }
}

/**
 * Instructions per request over one client connection, so that the work per
 * turn of the event loop does not depend on timing (with many connections,
 * how requests batch per poll() does). depth 1: a closed loop, one request
 * per turn, which in these examples includes a scan of their whole fd table
 * (MAX_FDS = 4096 entries) per request; depth 50: pipelined, 50 requests to
 * a write, so the scan is shared as it is under load and the figure is
 * mostly the handling of requests. Unlike throughput, neither moves with the
 * load of the machine.
 */
async function instructionsPerRequest(
  program: Program,
  build: "stock" | "graft",
  exe: string,
  env: NodeJS.ProcessEnv,
  docroot: string,
  probeExe: string,
  depth: number,
  opts: Options,
): Promise<InstructionCount> {
  const kvdOps = (n: number) => async (port: number) => {
    const r = spawnSync(probeExe, ["127.0.0.1", String(port), "0", String(n), String(depth)], { encoding: "utf8", timeout: 120_000 });
    const p = parseProbe(r.stdout);
    if (!(p.ops > 0) || p.errors !== 0) throw new Error(`mcprobe failed: ${r.stdout}${r.stderr}`);
    return p.ops;
  };
  const httpdSec = (sec: number) => async (port: number) => {
    const w = await runWrk(`http://127.0.0.1:${port}/`, {
      threads: 1,
      connections: 1,
      durationSec: sec,
      ...(depth > 1 ? { script: path.join(ROOT, "bench", "pipeline.lua") } : {}),
    });
    if (w.requests <= 0 || w.totalErrors > 0) throw new Error(`wrk under cachegrind failed:\n${w.output}`);
    return w.requests;
  };
  const [a, b] = depth > 1 ? (opts.quick ? [2000, 7000] : [2000, 12000]) : opts.quick ? [500, 2500] : [1000, 6000];
  // kvd: two request counts. httpd: wrk has no request count, and a 1 s run
  // under valgrind serves few requests when the machine is busy, so the small
  // run is an idle one (start, no client, stop) and the large one runs 3 s.
  const idle = async () => 0;
  const small = await cachegrindRun(program, exe, env, docroot, program === "kvd" ? kvdOps(a) : idle);
  const large = await cachegrindRun(program, exe, env, docroot, program === "kvd" ? kvdOps(b) : httpdSec(opts.quick ? 2 : 3));
  return { build, depth, small, large, perRequest: (large.ir - small.ir) / (large.requests - small.requests) };
}

// ----------------------------------------------------------------- updates

function controlSocket(runtimeDir: string, pid: number): string {
  return path.join(runtimeDir, `${pid}.sock`);
}

function control(sock: string, line: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.createConnection(sock);
    let buf = "";
    const timer = setTimeout(() => {
      c.destroy();
      reject(new Error(`no reply from ${sock} in ${timeoutMs} ms (has the process reached an update point since the request?)`));
    }, timeoutMs);
    // The line, then SIGURG to the pid (the socket's name): the runtime
    // starts its control thread at the process's next update point.
    c.on("connect", () =>
      c.write(line + "\n", (e) => {
        if (e) return;
        try {
          process.kill(Number(path.basename(sock, ".sock")), "SIGURG");
        } catch {
          // gone: the connection reports it
        }
      }),
    );
    c.on("data", (b) => {
      buf += b.toString();
      const i = buf.indexOf("\n");
      if (i >= 0) {
        clearTimeout(timer);
        c.destroy();
        resolve(buf.slice(0, i));
      }
    });
    c.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

async function waitForSocket(sock: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!existsSync(sock)) {
    if (Date.now() > end) throw new Error(`control socket ${sock} did not appear`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface ApplyResult {
  step: string;
  reply: string;
  applied: boolean;
  pauseUs: number;
  point: number | null;
  /** Wall time of the request, as the requester sees it (load, verify, wait for a point, apply). */
  requestMs: number;
}

interface UpdateRun {
  run: number;
  applies: ApplyResult[];
  loadErrors: number;
  loadOk: boolean;
  /** What the load generator saw over the run that included the updates. */
  load: Record<string, number | null>;
  versionAfter: string;
}

async function apply(sock: string, step: string, patchDir: string): Promise<ApplyResult> {
  const t0 = performance.now();
  const reply = await control(sock, `apply ${patchDir} 5000`, 15_000);
  const requestMs = performance.now() - t0;
  const m = /^applied pause_us=(\d+) point=(\d+)/.exec(reply);
  return { step, reply, applied: !!m, pauseUs: m ? Number(m[1]) : NaN, point: m ? Number(m[2]) : null, requestMs };
}

async function kvdVersion(port: number): Promise<string> {
  return new Promise((resolve) => {
    const c = net.createConnection({ port, host: "127.0.0.1" });
    let buf = "";
    const done = (v: string) => {
      c.destroy();
      resolve(v);
    };
    c.setTimeout(3000, () => done("(timeout)"));
    c.on("connect", () => c.write("version\r\n"));
    c.on("data", (b) => {
      buf += b.toString();
      if (buf.includes("\r\n")) done(buf.split("\r\n")[0].replace(/^VERSION /, ""));
    });
    c.on("error", (e) => done(`(error ${e.message})`));
  });
}

async function updateRuns(
  program: Program,
  exe: string,
  patches: { step: string; dir: string }[],
  env: NodeJS.ProcessEnv,
  runtimeDir: string,
  docroot: string,
  opts: Options,
): Promise<UpdateRun[]> {
  const runs: UpdateRun[] = [];
  for (let i = 0; i < opts.updateRuns; i++) {
    const s = await start(program, exe, env, docroot);
    try {
      const sock = controlSocket(runtimeDir, s.pid);
      await waitForSocket(sock);
      // Load for ~3 s (quick: ~1.5 s); the patches go in while it runs.
      const loadSec = opts.quick ? 1.5 : 3;
      const load =
        program === "httpd"
          ? runWrk(`http://127.0.0.1:${s.port}/`, { threads: 2, connections: 32, durationSec: loadSec }).then((w) => ({
              errors: w.totalErrors,
              ok: w.requests > 0,
              load: { requestsPerSec: w.requestsPerSec, p99Ms: w.latencyMs.p99, maxMs: wrkMaxMs(w.output) },
            }))
          : runMemslap(s.port, { test: "set", concurrency: 4, executeNumber: opts.quick ? 3000 : 6000, tcpNodelay: true }).then((m) => ({
              errors: m.failures,
              ok: m.keys !== null && m.keys > 0,
              load: { setOpsPerSec: memslapRate(m) },
            }));
      await new Promise((r) => setTimeout(r, 500));
      const applies: ApplyResult[] = [];
      for (const p of patches) {
        applies.push(await apply(sock, p.step, p.dir));
        await new Promise((r) => setTimeout(r, 200));
      }
      const l = await load;
      const versionAfter =
        program === "kvd" ? await kvdVersion(s.port) : (await curl(`http://127.0.0.1:${s.port}/version`, { maxTimeSec: 3 })).body.trim();
      runs.push({ run: i, applies, loadErrors: l.errors, loadOk: l.ok, load: l.load, versionAfter });
    } finally {
      await s.stop();
    }
  }
  return runs;
}

// ------------------------------------------------- lazy transformation (kvd)

/** One memcached text-protocol connection, one request at a time, replies read until a terminator. */
class McConn {
  private buf: Buffer = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  private constructor(private readonly sock: net.Socket) {
    sock.on("data", (b: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, b]) : b;
      this.wake?.();
    });
    sock.on("error", () => this.wake?.());
  }

  static connect(port: number): Promise<McConn> {
    return new Promise((resolve, reject) => {
      const sock = net.createConnection({ port, host: "127.0.0.1" });
      sock.setNoDelay(true);
      sock.once("connect", () => resolve(new McConn(sock)));
      sock.once("error", reject);
    });
  }

  /** Send `req`, resolve with the reply once `complete(replySoFar)` says it is whole. */
  async request(req: string, complete: (b: Buffer) => boolean, timeoutMs = 30_000): Promise<Buffer> {
    this.buf = Buffer.alloc(0);
    this.sock.write(req);
    const end = Date.now() + timeoutMs;
    while (!complete(this.buf)) {
      if (this.sock.destroyed || Date.now() > end) throw new Error(`kvd connection: no complete reply to ${JSON.stringify(req.slice(0, 40))}`);
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 100);
      });
    }
    this.wake = null;
    const out = this.buf;
    this.buf = Buffer.alloc(0);
    return out;
  }

  close() {
    this.sock.destroy();
  }
}

const lazyKey = (i: number) => `lazy:${i}`;
const lazyValue = (i: number) => `value-${i}-`.padEnd(32, "x");

async function lazyLoad(c: McConn, n: number): Promise<void> {
  const batch = 200;
  for (let i = 0; i < n; i += batch) {
    let req = "";
    const m = Math.min(batch, n - i);
    for (let j = i; j < i + m; j++) req += `set ${lazyKey(j)} 0 0 32\r\n${lazyValue(j)}\r\n`;
    const r = await c.request(req, (b) => (b.toString("latin1").match(/\r\n/g)?.length ?? 0) >= m);
    const stored = r.toString("latin1").split("\r\n").filter((l) => l === "STORED").length;
    if (stored !== m) throw new Error(`kvd: ${m - stored} of ${m} sets not STORED: ${r.toString("latin1").slice(0, 200)}`);
  }
}

/** `get` every key, 100 to a request; returns how many came back with the value they were stored with. */
async function lazySweep(c: McConn, n: number): Promise<number> {
  let good = 0;
  for (let i = 0; i < n; i += 100) {
    const keys: number[] = [];
    for (let j = i; j < Math.min(n, i + 100); j++) keys.push(j);
    const r = (await c.request(`get ${keys.map(lazyKey).join(" ")}\r\n`, (b) => b.length >= 5 && b.toString("latin1", b.length - 5) === "END\r\n")).toString("latin1");
    const lines = r.split("\r\n");
    for (let k = 0; k < lines.length; k++) {
      const m = /^VALUE lazy:(\d+) \d+ \d+/.exec(lines[k]);
      if (m && lines[k + 1] === lazyValue(Number(m[1]))) good++;
    }
  }
  return good;
}

interface LazyCount {
  items: number;
  /** Instructions (cachegrind) of one sweep: a `get` of every stored item, 100 keys to a request. */
  sweepBefore: number;
  firstSweepAfterV1: number;
  secondSweepAfterV1: number;
  /** firstSweepAfterV1 - secondSweepAfterV1: the transformations the update left for later. */
  transformation: number;
  /** Instructions the whole process executed for the apply request (control thread and update point). */
  apply: number;
  /** Items that came back intact in the sweeps after the update (must be all). */
  intactAfter: number[];
  stages: { stage: number; ir: number }[];
}

/**
 * The work an update leaves for later: kvd's v0->v1 patch changes struct item
 * (two fields retyped, one removed), and items are transformed at their next
 * use, not at the update point. Five runs under cachegrind, each one stage
 * longer than the last: load N items and sweep once (every `get`); sweep
 * again; apply v0->v1; sweep; sweep. The differences between the runs give
 * the instructions of each stage, exactly: the first sweep after the update
 * pays for the transformations, the second is the new steady state.
 */
async function lazyTransformCount(exe: string, patch: { step: string; dir: string }, env: NodeJS.ProcessEnv, runtimeDir: string, opts: Options): Promise<LazyCount> {
  const n = opts.quick ? 5_000 : 20_000;
  const intactAfter: number[] = [];
  const stages: { stage: number; ir: number }[] = [];
  for (let stage = 0; stage < 5; stage++) {
    const { ir } = await cachegrindRun("kvd", exe, env, "", async (port, pid) => {
      const c = await McConn.connect(port);
      try {
        await lazyLoad(c, n);
        await lazySweep(c, n);
        if (stage >= 1) await lazySweep(c, n);
        if (stage >= 2) {
          const sock = controlSocket(runtimeDir, pid);
          await waitForSocket(sock, 30_000);
          const a = await apply(sock, patch.step, patch.dir);
          if (!a.applied) throw new Error(`kvd under cachegrind: ${patch.step} refused: ${a.reply}`);
        }
        if (stage >= 3) {
          const good = await lazySweep(c, n);
          if (stage === 4) intactAfter.push(good);
        }
        if (stage >= 4) intactAfter.push(await lazySweep(c, n));
      } finally {
        c.close();
      }
      return n;
    });
    stages.push({ stage, ir });
  }
  const ir = stages.map((x) => x.ir);
  return {
    items: n,
    sweepBefore: ir[1] - ir[0],
    apply: ir[2] - ir[1],
    firstSweepAfterV1: ir[3] - ir[2],
    secondSweepAfterV1: ir[4] - ir[3],
    transformation: ir[3] - ir[2] - (ir[4] - ir[3]),
    intactAfter,
    stages,
  };
}

// ---------------------------------------------------------------- analysis

interface AnalysisCost {
  units: number;
  functions: number;
  updatePoints: number;
  parseMs: number;
  collectFactsMs: number;
  analysePointsMs: number;
  totalAnalysisMs: number;
  /** Slowest of the repetitions (the first is usually the slowest: cold caches, GC). */
  totalAnalysisMaxMs: number;
  repetitions: number;
}

async function analysisCost(program: Program, work: string, opts: Options): Promise<AnalysisCost> {
  const cwd = path.join(EXAMPLES, program, "v0");
  const { value: prog, ms: parseMs } = await timed(() =>
    parseProgram({ files: PROGRAMS[program].files, cflags: CFLAGS, cwd, workDir: path.join(work, `${program}-analysis`) }),
  );
  const libc = await libcExports();
  const factsMs: number[] = [];
  const pointsMs: number[] = [];
  const totalMs: number[] = [];
  let points = 0;
  for (let k = 0; k < opts.analysisReps; k++) {
    const t0 = performance.now();
    const facts = collectFacts(prog, libc);
    const t1 = performance.now();
    points = 0;
    // As the version-data builder does for each update point.
    for (const tu of prog.units) {
      for (const p of tu.updatePoints) {
        const holder = p.fn.name === "main" ? facts.mains.find((m) => m.fn === p.fn) : facts.functions.get(unameOf(p.fn, tu));
        if (!holder) continue;
        analysePoint(facts, holder, p.restarts ? p.fn.end : (p.call.range?.begin.offset ?? 0));
        points++;
      }
    }
    const t2 = performance.now();
    factsMs.push(t1 - t0);
    pointsMs.push(t2 - t1);
    totalMs.push(t2 - t0);
  }
  return {
    units: prog.units.length,
    functions: prog.functions.size,
    updatePoints: points,
    parseMs,
    collectFactsMs: median(factsMs),
    analysePointsMs: median(pointsMs),
    totalAnalysisMs: median(totalMs),
    totalAnalysisMaxMs: Math.max(...totalMs),
    repetitions: totalMs.length,
  };
}

// ----------------------------------------------------------------- summary

interface Comparison {
  program: Program;
  metric: string;
  unit: string;
  stock: number;
  graft: number;
  ratio: number;
  /** Range of the per-round ratios (graft run / stock run of the same round). */
  pairedRatioMin?: number;
  pairedRatioMax?: number;
  /** Spread of the stock runs: (max - min) / median. */
  stockSpread?: number;
  goal?: string;
  met?: boolean;
  /** Paired load: the 95% confidence interval of the ratio. */
  ci?: { lo: number; hi: number; pairs: number };
  /**
   * True when the noise cannot have made the verdict: every round gives the
   * same one (interleaved runs), the whole 95% interval is on one side of the
   * goal (paired load), or the measurement is deterministic.
   */
  conclusive?: boolean;
}

function compare<T extends { build: string; round: number }>(
  program: Program,
  runs: T[],
  metric: string,
  unit: string,
  get: (r: T) => number | null,
  goal?: { text: string; ok: (ratio: number) => boolean },
): Comparison {
  const stockV = runs.filter((r) => r.build === "stock").map((r) => get(r) ?? NaN);
  const graftV = runs.filter((r) => r.build === "graft").map((r) => get(r) ?? NaN);
  const paired: number[] = [];
  for (const r of new Set(runs.map((x) => x.round))) {
    const a = runs.find((x) => x.round === r && x.build === "stock");
    const b = runs.find((x) => x.round === r && x.build === "graft");
    if (a && b) paired.push((get(b) ?? NaN) / (get(a) ?? NaN));
  }
  const s = median(stockV);
  const g = median(graftV);
  // The estimator of an interleaved A/B design: the median of the per-round ratios.
  const ratio = median(paired);
  const fin = stockV.filter(Number.isFinite);
  const pf = paired.filter(Number.isFinite);
  return {
    program,
    metric,
    unit,
    stock: s,
    graft: g,
    ratio,
    pairedRatioMin: Math.min(...paired.filter(Number.isFinite)),
    pairedRatioMax: Math.max(...paired.filter(Number.isFinite)),
    stockSpread: fin.length > 1 ? (Math.max(...fin) - Math.min(...fin)) / s : undefined,
    ...(goal
      ? {
          goal: goal.text,
          met: Number.isFinite(ratio) && goal.ok(ratio),
          // Every round agrees with the verdict: the noise cannot have made it.
          // (With fewer than 5 rounds agreement says little: not claimed.)
          conclusive: pf.length >= 5 && (pf.every((x) => goal.ok(x)) || pf.every((x) => !goal.ok(x))),
        }
      : {}),
  };
}

/**
 * Paired load (bench/paired-load.ts): both builds in the same windows. Each
 * build's figure is its median over the windows; the ratio is the median of
 * the per-window ratios, with its 95% interval (bench/paired-ratio.ts).
 */
function comparePaired(program: Program, all: PairSample[], metric: string, unit: string, get: (w: PairSample["stock"]) => number, goal: { text: string; ok: (ratio: number) => boolean }): Comparison {
  // A window in which a client failed (or ran out of work) measured something else: left out, and counted in the log.
  const samples = all.filter((x) => !x.stock.errors && !x.graft.errors);
  const per = samples.map((x) => get(x.graft) / get(x.stock));
  const est = pairedRatio(per);
  const fin = per.filter(Number.isFinite);
  const stockV = samples.map((x) => get(x.stock)).filter(Number.isFinite);
  const s = median(stockV);
  return {
    program,
    metric,
    unit,
    stock: s,
    graft: median(samples.map((x) => get(x.graft))),
    ratio: est.ratio,
    pairedRatioMin: Math.min(...fin),
    pairedRatioMax: Math.max(...fin),
    stockSpread: stockV.length > 1 ? (Math.max(...stockV) - Math.min(...stockV)) / s : undefined,
    ci: { lo: est.lo, hi: est.hi, pairs: est.pairs },
    goal: goal.text,
    met: Number.isFinite(est.ratio) && goal.ok(est.ratio),
    conclusive: Number.isFinite(est.lo) && goal.ok(est.lo) === goal.ok(est.hi) && goal.ok(est.lo) === goal.ok(est.ratio),
  };
}

const SPEED_TPUT = { text: ">= 0.99", ok: (r: number) => r >= 0.99 };
const SPEED_LAT = { text: "<= 1.01", ok: (r: number) => r <= 1.01 };
const MEMORY = { text: "<= 1.05", ok: (r: number) => r <= 1.05 };
const SIZE = { text: "<= 1.30", ok: (r: number) => r <= 1.3 };

function single(program: Program, metric: string, unit: string, stock: number, graft: number, goal?: { text: string; ok: (r: number) => boolean }): Comparison {
  const ratio = graft / stock;
  return { program, metric, unit, stock, graft, ratio, ...(goal ? { goal: goal.text, met: goal.ok(ratio), conclusive: true } : {}) };
}

function fmt(x: number | undefined | null, digits = 0): string {
  if (x === undefined || x === null || !Number.isFinite(x)) return "-";
  return x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function fmtValue(x: number, unit: string): string {
  const a = Math.abs(x);
  if (unit === "ms" || unit === "us") return fmt(x, a < 10 ? 2 : a < 100 ? 1 : 0);
  return fmt(x, 0);
}

function table(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  ")).join("\n");
}

function mdTable(rows: string[][]): string {
  const head = `| ${rows[0].join(" | ")} |`;
  const sep = `| ${rows[0].map((_, i) => (i === 0 ? "---" : "---:")).join(" | ")} |`;
  return [head, sep, ...rows.slice(1).map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

function comparisonRows(cs: Comparison[], opts: Options): string[][] {
  const rows = [["program / metric", "stock", "updateable", "difference", "ratio", "95% interval", "per-round ratios", "stock spread", "goal", "verdict", "conclusive"]];
  for (const c of cs) {
    rows.push([
      `${c.program} ${c.metric} (${c.unit})`,
      fmtValue(c.stock, c.unit),
      fmtValue(c.graft, c.unit),
      (c.graft >= c.stock ? "+" : "") + fmtValue(c.graft - c.stock, c.unit),
      fmt(c.ratio, 3),
      c.ci && Number.isFinite(c.ci.lo) ? `${fmt(c.ci.lo, 3)}..${fmt(c.ci.hi, 3)}` : "",
      c.pairedRatioMin !== undefined && Number.isFinite(c.pairedRatioMin) ? `${fmt(c.pairedRatioMin, 3)}..${fmt(c.pairedRatioMax, 3)}` : "",
      c.stockSpread !== undefined ? `${fmt(c.stockSpread * 100, 1)}%` : "",
      c.goal ?? "",
      c.met === undefined ? "" : c.met ? "met" : "NOT MET",
      c.conclusive === undefined ? "" : c.pairedRatioMin === undefined ? "(single)" : c.conclusive ? "yes" : tooFew(c, opts) ? "(too few rounds)" : "no",
    ]);
  }
  return rows;
}

/** Too few rounds for agreement to mean anything, or too few paired windows for a 95% interval. */
function tooFew(c: Comparison, opts: Options): boolean {
  return c.ci ? !Number.isFinite(c.ci.lo) : opts.rounds < 5;
}

/** Why a verdict is not conclusive. */
function noiseNote(c: Comparison, opts: Options): string {
  if (tooFew(c, opts)) return `too few ${c.ci ? "pairs" : "rounds"} to tell from noise`;
  return c.ci ? "the 95% interval reaches across the goal" : "rounds disagree: within the noise of this run";
}

// -------------------------------------------------------------------- main

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  const loadBefore = os.loadavg();
  const missing = missingTools();
  if (missing.length) {
    console.error(`bench: missing tools: ${missing.map((m) => `${m.tool} (apt-get install ${m.debianPackage})`).join(", ")}`);
    process.exit(1);
  }
  const work = mkdtempSync(path.join(os.tmpdir(), "graft-bench-"));
  const runtimeDir = path.join(work, "rt");
  mkdirSync(runtimeDir, { mode: 0o700 });
  // The runtime's control sockets go to a directory of this run alone.
  const env = { ...process.env, GRAFT_RUNTIME_DIR: runtimeDir };
  const docroot = await makeDocroot();
  const probeExe = path.join(work, "mcprobe");
  sh("gcc", ["-O2", "-Wall", "-o", probeExe, path.join(ROOT, "bench", "mcprobe.c")]);

  const cleanup = () => {
    for (const s of servers) s.proc.kill("SIGKILL");
    for (const c of children) c.kill("SIGKILL");
  };
  process.on("SIGINT", () => {
    cleanup();
    process.exit(130);
  });

  const programs: Program[] = opts.only ?? ["kvd", "httpd"];
  log(`${opts.quick ? "quick" : "full"} run: ${opts.rounds} load rounds per build, work dir ${work}`);

  const builds = {} as Record<Program, Builds>;
  const kvdRuns: KvdRun[] = [];
  const httpdRuns: HttpdRun[] = [];
  const paired = {} as Record<Program, PairSample[]>;
  const patchGen: { program: Program; step: string; ms: number; patchSoBytes: number | null; changed: unknown }[] = [];
  const updates = {} as Record<Program, UpdateRun[]>;
  const analysis = {} as Record<Program, AnalysisCost>;
  let lazy: LazyCount | null = null;
  const instructions = Object.fromEntries(programs.map((p) => [p, {}])) as Record<Program, Record<string, InstructionCount>>;

  try {
    // 1. builds, side by side
    for (const p of programs) {
      log(`${p}: building stock and updateable (${opts.compileRounds} round(s))`);
      builds[p] = await buildAll(p, work, opts);
    }

    // 2. load, interleaved: round r runs stock then updateable, round r+1 the other way round
    for (let r = 0; r < opts.rounds; r++) {
      const order: ("stock" | "graft")[] = r % 2 === 0 ? ["stock", "graft"] : ["graft", "stock"];
      for (const p of programs) {
        for (const b of order) {
          const exe = b === "stock" ? builds[p].stockExe : builds[p].graftExe;
          if (p === "kvd") {
            const run = await kvdRun(b, r, exe, probeExe, env, opts);
            kvdRuns.push(run);
            log(`kvd round ${r + 1}/${opts.rounds} ${b}: set ${fmt(run.setOpsPerSec)}/s get ${fmt(run.getOpsPerSec)}/s probe p99 ${fmt(run.probe.p99Us, 1)} us`);
          } else {
            const run = await httpdRun(b, r, exe, docroot, env, opts);
            httpdRuns.push(run);
            log(`httpd round ${r + 1}/${opts.rounds} ${b}: ${fmt(run.requestsPerSec)} req/s p99 ${fmt(run.p99Ms, 2)} ms`);
          }
        }
      }
    }

    // 2a. paired load: both builds at once, in the same windows
    for (const p of programs) {
      const startBuild = (b: "stock" | "graft") => start(p, b === "stock" ? builds[p].stockExe : builds[p].graftExe, env, docroot);
      log(`${p}: paired load, ${opts.pairs} windows of ${opts.pairWindowSec} s with both builds at once`);
      const po = { pairs: opts.pairs, warmupSec: 0.5, windowSec: opts.pairWindowSec, start: startBuild, probeExe, log };
      paired[p] = p === "kvd" ? await pairedKvd(po) : await pairedHttpd(po);
      const failed = paired[p].filter((x) => x.stock.errors || x.graft.errors).length;
      if (failed) log(`${p}: WARNING: clients saw errors in ${failed} of ${opts.pairs} paired windows, left out of the ratios (see "paired" in the JSON)`);
    }

    // 2b. instructions per request, deterministic (cachegrind)
    const haveValgrind = spawnSync("valgrind", ["--version"]).status === 0;
    if (!haveValgrind) log("valgrind not found (apt-get install valgrind): skipping instructions per request");
    for (const p of haveValgrind ? programs : []) {
      for (const b of ["stock", "graft"] as const) {
        // --quick: only the pipelined figure (the closer one to a loaded server), to stay near a minute.
        for (const depth of opts.quick ? [50] : [1, 50]) {
          const ic = await instructionsPerRequest(p, b, b === "stock" ? builds[p].stockExe : builds[p].graftExe, env, docroot, probeExe, depth, opts);
          instructions[p][`${b}-${depth}`] = ic;
          log(`${p} ${b}: ${fmt(ic.perRequest)} instructions per request (cachegrind, ${depth} to a write)`);
        }
      }
    }

    // 3. patch generation v0 -> v1 -> v2
    const patchDirs = {} as Record<Program, { step: string; dir: string }[]>;
    for (const p of programs) {
      patchDirs[p] = [];
      let from = builds[p].graftDir;
      for (const [a, b] of [["v0", "v1"], ["v1", "v2"]]) {
        const out = path.join(work, `${p}-patch-${a}-${b}`);
        const { value, ms } = await timed(() =>
          generatePatch({ from, files: PROGRAMS[p].files, outDir: out, cflags: CFLAGS, cwd: path.join(EXAMPLES, p, b) }),
        );
        const so = path.join(value.patchDir, "patch.so");
        const m = value.manifest as unknown as Record<string, unknown>;
        patchGen.push({ program: p, step: `${a}->${b}`, ms, patchSoBytes: existsSync(so) ? fileSize(so) : null, changed: m.changes ?? null });
        patchDirs[p].push({ step: `${a}->${b}`, dir: path.resolve(value.patchDir) });
        log(`${p}: patch ${a}->${b} generated in ${fmt(ms)} ms`);
        from = value.patchDir;
      }
    }

    // 4. update pause under load
    for (const p of programs) {
      log(`${p}: applying v0->v1->v2 under load, ${opts.updateRuns} run(s)`);
      updates[p] = await updateRuns(p, builds[p].graftExe, patchDirs[p], env, runtimeDir, docroot, opts);
      for (const u of updates[p]) {
        log(`${p} update run ${u.run + 1}: ${u.applies.map((a) => `${a.step} ${a.applied ? `${a.pauseUs} us at point ${a.point}` : a.reply}`).join(", ")}; load errors ${u.loadErrors}; version after: ${u.versionAfter}`);
      }
    }

    // 4b. the transformations an update leaves for later (kvd: struct item changes in v1)
    if (programs.includes("kvd") && haveValgrind) {
      log(`kvd: lazy transformation of stored items after v0->v1 (cachegrind, 5 runs)`);
      lazy = await lazyTransformCount(builds.kvd.graftExe, patchDirs.kvd[0], env, runtimeDir, opts);
      log(`kvd lazy: sweep ${fmt(lazy.sweepBefore)} instr before, ${fmt(lazy.firstSweepAfterV1)} then ${fmt(lazy.secondSweepAfterV1)} after v0->v1; intact ${lazy.intactAfter.join("/")} of ${lazy.items}`);
    }

    // 5. analysis cost
    for (const p of programs) {
      analysis[p] = await analysisCost(p, work, opts);
      log(`${p}: analysis ${fmt(analysis[p].totalAnalysisMs, 2)} ms (parse ${fmt(analysis[p].parseMs)} ms)`);
    }
  } finally {
    cleanup();
  }

  // ---------------------------------------------------------------- report
  const comparisons: Comparison[] = [];
  for (const p of programs) {
    if (p === "kvd") {
      comparisons.push(compare(p, kvdRuns, "memcslap set throughput", "ops/s", (r) => r.setOpsPerSec, SPEED_TPUT));
      comparisons.push(compare(p, kvdRuns, "memcslap get throughput", "ops/s", (r) => r.getOpsPerSec, SPEED_TPUT));
      comparisons.push(compare(p, kvdRuns, "probe p99 latency", "us", (r) => r.probe.p99Us, SPEED_LAT));
      comparisons.push(compare(p, kvdRuns, "server CPU per request", "us", (r) => r.cpuUsPerOp, SPEED_LAT));
      comparisons.push(compare(p, kvdRuns, "VmRSS after load", "kB", (r) => r.vmRssKb, MEMORY));
      comparisons.push(compare(p, kvdRuns, "VmHWM after load", "kB", (r) => r.vmHwmKb, MEMORY));
    } else {
      comparisons.push(compare(p, httpdRuns, "wrk throughput", "req/s", (r) => r.requestsPerSec, SPEED_TPUT));
      comparisons.push(compare(p, httpdRuns, "wrk p99 latency", "ms", (r) => r.p99Ms, SPEED_LAT));
      comparisons.push(compare(p, httpdRuns, "server CPU per request", "us", (r) => r.cpuUsPerRequest, SPEED_LAT));
      comparisons.push(compare(p, httpdRuns, "VmRSS after load", "kB", (r) => r.vmRssKb, MEMORY));
      comparisons.push(compare(p, httpdRuns, "VmHWM after load", "kB", (r) => r.vmHwmKb, MEMORY));
    }
    const pw = paired[p] ?? [];
    const what = p === "kvd" ? "memcslap set + probe" : "wrk";
    comparisons.push(comparePaired(p, pw, `${what} throughput, paired (both at once)`, p === "kvd" ? "ops/s" : "req/s", (w) => w.requests / w.seconds, SPEED_TPUT));
    comparisons.push(comparePaired(p, pw, `${p === "kvd" ? "probe" : "wrk"} p99 latency, paired (both at once)`, "ms", (w) => w.p99Ms ?? NaN, SPEED_LAT));
    comparisons.push(comparePaired(p, pw, `server CPU per request, paired (both at once)`, "us", (w) => w.cpuNs / 1000 / w.requests, SPEED_LAT));
    comparisons.push(comparePaired(p, pw, `VmRSS at the window's end, paired (both at once)`, "kB", (w) => w.vmRssKb, MEMORY));
    const ic = instructions[p];
    for (const depth of [1, 50]) {
      const a = ic[`stock-${depth}`];
      const g = ic[`graft-${depth}`];
      const what = depth === 1 ? "one request per loop turn" : `pipelined ${depth} to a write`;
      if (a && g) comparisons.push(single(p, `instructions per request (cachegrind, ${what})`, "instr", a.perRequest, g.perRequest, SPEED_LAT));
    }
    const b = builds[p];
    comparisons.push(single(p, "executable size", "bytes", b.size.stock.bytes, b.size.graft.bytes, SIZE));
    comparisons.push(single(p, "executable size, stripped", "bytes", b.size.stock.stripped, b.size.graft.stripped, SIZE));
    // Not the updateable build: the floor under it (bench/size-floor.ts).
    comparisons.push(single(p, "stock objects + libgraft.so.1, nothing rewritten, stripped (the floor)", "bytes", b.size.stock.stripped, b.size.breakdown.runtimeOnlyStripped));
    comparisons.push(single(p, "program objects text+data", "bytes", b.size.stock.programObjects, b.size.graft.programObjects));
    comparisons.push(single(p, "dynamic symbol tables", "bytes", b.size.breakdown.dynamicSymbolsStock, b.size.breakdown.dynamicSymbolsGraft));
    comparisons.push(single(p, "libgraft text+data (shared: libgraft.so.1, not in the executable)", "bytes", 0, b.size.breakdown.libgraftTextData));
    comparisons.push(single(p, "executable + libgraft.so.1, stripped (one program on the machine)", "bytes", b.size.stock.stripped, b.size.graft.stripped + b.size.graft.runtimeStripped));
    comparisons.push(single(p, "compile time", "ms", median(b.times.stockMs), median(b.times.graftMs)));
  }

  const updateRows = [["program / step", "pause median (us)", "pause max (us)", "request median (ms)", "applied", "load errors", "patch gen (ms)", "patch.so (bytes)"]];
  const updateSummary: Record<string, unknown>[] = [];
  for (const p of programs) {
    for (const step of ["v0->v1", "v1->v2"]) {
      const as = updates[p].flatMap((u) => u.applies.filter((a) => a.step === step));
      const pauses = as.filter((a) => a.applied).map((a) => a.pauseUs);
      const gen = patchGen.find((g) => g.program === p && g.step === step)!;
      const row = {
        program: p,
        step,
        pauseMedianUs: median(pauses),
        pauseMaxUs: pauses.length ? Math.max(...pauses) : NaN,
        requestMedianMs: median(as.map((a) => a.requestMs)),
        applied: pauses.length,
        attempts: as.length,
        refusals: as.filter((a) => !a.applied).map((a) => a.reply),
        loadErrors: updates[p].reduce((n, u) => n + u.loadErrors, 0),
        patchGenMs: gen.ms,
        patchSoBytes: gen.patchSoBytes,
      };
      updateSummary.push(row);
      updateRows.push([
        `${p} ${step}`,
        fmt(row.pauseMedianUs),
        fmt(row.pauseMaxUs),
        fmt(row.requestMedianMs, 1),
        `${row.applied}/${row.attempts}`,
        String(row.loadErrors),
        fmt(row.patchGenMs),
        fmt(row.patchSoBytes ?? NaN),
      ]);
    }
  }

  const lazyRows = [["kvd, one get of every stored item", "instructions", "per item", "vs before the update"]];
  if (lazy) {
    const l = lazy;
    const row = (label: string, ir: number, ratio = true) => [label, fmt(ir), fmt(ir / l.items, 1), ratio ? fmt(ir / l.sweepBefore, 3) : ""];
    lazyRows.push(row("sweep before the update (v0)", l.sweepBefore));
    lazyRows.push(row("first sweep after v0->v1 (items transformed)", l.firstSweepAfterV1));
    lazyRows.push(row("second sweep after v0->v1", l.secondSweepAfterV1));
    lazyRows.push(row("transformations (first - second)", l.transformation, false));
    lazyRows.push(["the apply request itself (all threads)", fmt(l.apply), "", ""]);
  }

  const analysisRows = [["program", "units", "functions", "update points", "parse (ms)", "collectFacts (ms)", "analysePoint, all points (ms)", "analysis total (ms)", "slowest rep (ms)", "share of graft compile"]];
  for (const p of programs) {
    const a = analysis[p];
    analysisRows.push([
      p,
      String(a.units),
      String(a.functions),
      String(a.updatePoints),
      fmt(a.parseMs),
      fmt(a.collectFactsMs, 2),
      fmt(a.analysePointsMs, 3),
      fmt(a.totalAnalysisMs, 2),
      fmt(a.totalAnalysisMaxMs, 2),
      `${fmt((a.totalAnalysisMs / median(builds[p].times.graftMs)) * 100, 2)}%`,
    ]);
  }

  const wallSec = (performance.now() - t0) / 1000;
  const cpu = /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "?";
  const meta = {
    date: new Date().toISOString(),
    command: `npx tsx bench/run.ts ${process.argv.slice(2).join(" ")}`.trim(),
    mode: opts.quick ? "quick" : "full",
    commit: spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).stdout.trim(),
    machine: { cpu, cores: os.cpus().length, kernel: os.release(), memGb: Math.round(os.totalmem() / 2 ** 30) },
    /** 1-minute load average of the machine when the run started and ended: other work on it shows here. */
    loadAverage: { start: Number(loadBefore[0].toFixed(2)), end: Number(os.loadavg()[0].toFixed(2)) },
    gcc: spawnSync("gcc", ["--version"], { encoding: "utf8" }).stdout.split("\n")[0],
    node: process.version,
    cflags: CFLAGS.map((f) => f.replace(ROOT, "<repo>")),
    load: {
      httpd: `wrk -t2 -c32 -d${opts.wrkSec}s --latency http://127.0.0.1:PORT/ (after a ${opts.wrkWarmupSec}s warm-up)`,
      kvd: `memcslap --test=set then --test=get, --concurrency=4 --execute-number=${opts.memslapN} --tcp-nodelay; bench/mcprobe.c on one more connection for latency`,
      rounds: opts.rounds,
      order: "round r: stock then updateable when r is even, the other way round when odd; a fresh server per run",
    },
    wallSec,
  };

  const head = `Graft benchmarks (${meta.mode}), ${meta.date}, commit ${meta.commit}\n${cpu}, ${meta.machine.cores} cores, ${meta.gcc}; load average ${meta.loadAverage.start} at start, ${meta.loadAverage.end} at end`;
  const text = [
    head,
    "",
    `Updateable vs stock: median of ${opts.rounds} interleaved rounds; ratio = updateable / stock`,
    table(comparisonRows(comparisons, opts)),
    "",
    "Updates (applied to a live updateable v0 under load: wrk for httpd, memcslap set for kvd)",
    table(updateRows),
    "",
    ...(lazy
      ? [
          `Work an update leaves for later: kvd items are transformed at their next use (cachegrind, ${lazy.items} items; intact after: ${lazy.intactAfter.map((x) => `${x}/${lazy!.items}`).join(", ")})`,
          table(lazyRows),
          "",
        ]
      : []),
    `Updateability analysis (collectFacts + analysePoint for every update point, median of ${opts.analysisReps} repetitions; parsing timed apart)`,
    table(analysisRows),
    "",
    "Goals (issue 3):",
    ...comparisons
      .filter((c) => c.met !== undefined)
      .map((c) => `  ${c.met ? "met    " : "NOT MET"}  ${c.program} ${c.metric}: ${fmt(c.ratio, 3)} (goal ${c.goal})${c.conclusive ? "" : `  [${noiseNote(c, opts)}]`}`),
    `Wall time ${fmt(wallSec, 0)} s`,
  ].join("\n");
  console.log("\n" + text);

  const md = [
    `Run: \`${meta.command}\` on ${meta.date.slice(0, 16).replace("T", " ")} UTC, commit ${meta.commit}; ${cpu}, ${meta.machine.cores} cores; ${meta.gcc}; load average ${meta.loadAverage.start} at start, ${meta.loadAverage.end} at end; wall time ${fmt(wallSec)} s.`,
    "",
    mdTable(comparisonRows(comparisons, opts)),
    "",
    mdTable(updateRows),
    "",
    ...(lazy ? [mdTable(lazyRows), ""] : []),
    mdTable(analysisRows),
    "",
    "Goals of issue 3:",
    "",
    ...comparisons
      .filter((c) => c.met !== undefined)
      .map((c) => `- ${c.program} ${c.metric}: ratio ${fmt(c.ratio, 3)}, goal ${c.goal}: **${c.met ? "met" : "not met"}**${c.conclusive ? "" : ` (${noiseNote(c, opts)})`}`),
    "",
  ].join("\n");

  mkdirSync(path.dirname(opts.json), { recursive: true });
  writeFileSync(
    opts.json,
    JSON.stringify(
      {
        meta,
        goals: { speed: "within 1% (throughput ratio >= 0.99, p99 latency ratio <= 1.01)", memory: "<= 1.05x", size: "<= 1.3x" },
        comparisons,
        builds: Object.fromEntries(programs.map((p) => [p, { times: builds[p].times, size: builds[p].size }])),
        runs: { kvd: kvdRuns, httpd: httpdRuns },
        paired,
        updates: { summary: updateSummary, runs: updates, patchGeneration: patchGen, lazyTransformation: lazy },
        analysis,
        instructions,
      },
      null,
      2,
    ) + "\n",
  );
  writeFileSync(opts.json.replace(/\.json$/, "") + ".md", md);
  log(`wrote ${path.relative(process.cwd(), opts.json)} and ${path.relative(process.cwd(), opts.json.replace(/\.json$/, ".md"))}`);
  rmSync(docroot, { recursive: true, force: true });
  if (!opts.keep) rmSync(work, { recursive: true, force: true });
  else log(`kept ${work}`);
}

main().catch((e) => {
  for (const s of servers) s.proc.kill("SIGKILL");
  for (const c of children) c.kill("SIGKILL");
  console.error("bench: failed:", e instanceof Error ? (e.stack ?? e.message) : e);
  const diags = (e as { diagnostics?: unknown }).diagnostics;
  if (diags) console.error(JSON.stringify(diags, null, 2));
  process.exit(1);
});
