/**
 * Drivers for the real clients the examples are checked with: memccapable
 * and memcslap (Debian's libmemcached-tools names for memcapable/memslap),
 * wrk and curl. Each runs the tool and returns a parsed result.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";

import { run } from "./process.js";

/** First existing name on PATH's usual directories, else the first name. */
function tool(...names: string[]): string {
  for (const name of names) {
    for (const dir of ["/usr/bin", "/usr/local/bin", "/bin"]) {
      if (existsSync(`${dir}/${name}`)) return `${dir}/${name}`;
    }
  }
  return names[0];
}

export const MEMCAPABLE = tool("memccapable", "memcapable");
export const MEMSLAP = tool("memcslap", "memslap");
export const WRK = tool("wrk");
export const CURL = tool("curl");

/** The client tools that are not installed, each with the Debian package that has it. */
export function missingTools(): { tool: string; debianPackage: string }[] {
  const wanted: [string, string][] = [
    [MEMCAPABLE, "libmemcached-tools"],
    [MEMSLAP, "libmemcached-tools"],
    [WRK, "wrk"],
    [CURL, "curl"],
  ];
  return wanted.filter(([t]) => !existsSync(t)).map(([t, debianPackage]) => ({ tool: t, debianPackage }));
}

// ---------------------------------------------------------------- memcapable

export type MemcapableStatus = "pass" | "fail" | "skip";

export interface MemcapableTest {
  /** memcapable's test name, e.g. "ascii incr noreply". */
  name: string;
  status: MemcapableStatus;
}

export interface MemcapableResult {
  tests: MemcapableTest[];
  passed: number;
  failed: number;
  skipped: number;
  /** Status by test name. */
  byName: Record<string, MemcapableStatus>;
  /** memcapable printed "All tests passed". */
  allPassed: boolean;
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

export interface MemcapableOptions {
  host?: string;
  /** Run only the ascii tests (-a; default true) or only the binary ones. */
  protocol?: "ascii" | "binary" | "both";
  /** Just this test (-T). */
  test?: string;
  /** Per-I/O timeout in seconds (-t, default 2). */
  ioTimeoutSec?: number;
  timeoutMs?: number;
}

/**
 * Parse memcapable's output. Each test prints its name padded to 40 columns
 * on stdout, then "[pass]"/"[skip]" on stdout or "[FAIL]" on stderr, so a
 * failed test shows on stdout as a name with no status.
 */
export function parseMemcapable(stdout: string): MemcapableTest[] {
  const tests: MemcapableTest[] = [];
  const re = /((?:ascii|binary)(?: [a-z0-9_]+)*) *(\[pass\]|\[skip\])?\n?/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(stdout)) !== null) {
    const status: MemcapableStatus = m[2] === "[pass]" ? "pass" : m[2] === "[skip]" ? "skip" : "fail";
    tests.push({ name: m[1], status });
  }
  return tests;
}

export async function runMemcapable(port: number, opts: MemcapableOptions = {}): Promise<MemcapableResult> {
  const args = ["-h", opts.host ?? "127.0.0.1", "-p", String(port)];
  const protocol = opts.protocol ?? "ascii";
  if (protocol === "ascii") args.push("-a");
  if (protocol === "binary") args.push("-b");
  if (opts.test) args.push("-T", opts.test);
  if (opts.ioTimeoutSec) args.push("-t", String(opts.ioTimeoutSec));
  const r = await run(MEMCAPABLE, args, { timeoutMs: opts.timeoutMs ?? 120_000 });
  const tests = parseMemcapable(r.stdout);
  const byName: Record<string, MemcapableStatus> = {};
  for (const t of tests) byName[t.name] = t.status;
  return {
    tests,
    passed: tests.filter((t) => t.status === "pass").length,
    failed: tests.filter((t) => t.status === "fail").length,
    skipped: tests.filter((t) => t.status === "skip").length,
    byName,
    allPassed: r.stdout.includes("All tests passed"),
    exitCode: r.code,
    stdout: r.stdout,
    stderr: r.stderr,
  };
}

// ------------------------------------------------------------------ memslap

export type MemslapTest = "get" | "set" | "mget";

export interface MemslapOptions {
  host?: string;
  test?: MemslapTest;
  /** Client threads (--concurrency, default 4). */
  concurrency?: number;
  /** Operations per thread (--execute-number, default 10000). */
  executeNumber?: number;
  /** Keys loaded before a get/mget test (--initial-load). */
  initialLoad?: number;
  binary?: boolean;
  noreply?: boolean;
  tcpNodelay?: boolean;
  nonBlocking?: boolean;
  flush?: boolean;
  timeoutMs?: number;
}

export interface MemslapResult {
  test: MemslapTest;
  /** Keys processed in the timed phase, from "Time to <test> N keys by T threads". */
  keys: number | null;
  threads: number | null;
  /** Duration of the timed phase. */
  seconds: number | null;
  /** Keys stored by the preload phase of a get/mget test. */
  loaded: number | null;
  /** Lines reporting a failed operation ("Failure on ...", "Fatal error ...", "Failed ..."). */
  failures: number;
  failureLines: string[];
  exitCode: number | null;
  timedOut: boolean;
  output: string;
}

export function parseMemslap(output: string, test: MemslapTest): Omit<MemslapResult, "exitCode" | "timedOut"> {
  const lines = output.split("\n");
  const failureLines = lines.filter((l) => /(Failure on|Fatal error|Failed|TIMEOUT|Died with)/i.test(l));
  let keys: number | null = null;
  let threads: number | null = null;
  let seconds: number | null = null;
  let loaded: number | null = null;
  for (const l of lines) {
    const timed = /Time to (\w+)\s+(\d+) keys by\s+(\d+) threads:\s+([\d.]+) seconds/.exec(l);
    if (timed && timed[1] === test) {
      keys = Number(timed[2]);
      threads = Number(timed[3]);
      seconds = Number(timed[4]);
      continue;
    }
    const load = /Time to set\s+(\d+) keys:\s+([\d.]+) seconds/.exec(l);
    if (load) loaded = Number(load[1]);
  }
  return { test, keys, threads, seconds, loaded, failures: failureLines.length, failureLines, output };
}

export async function runMemslap(port: number, opts: MemslapOptions = {}): Promise<MemslapResult> {
  const test = opts.test ?? "set";
  const args = [
    `--servers=${opts.host ?? "127.0.0.1"}:${port}`,
    `--test=${test}`,
    `--concurrency=${opts.concurrency ?? 4}`,
    `--execute-number=${opts.executeNumber ?? 10_000}`,
  ];
  if (opts.initialLoad !== undefined) args.push(`--initial-load=${opts.initialLoad}`);
  if (opts.binary) args.push("--binary");
  if (opts.noreply) args.push("--noreply");
  if (opts.tcpNodelay) args.push("--tcp-nodelay");
  if (opts.nonBlocking) args.push("--non-blocking");
  if (opts.flush) args.push("--flush");
  const r = await run(MEMSLAP, args, { timeoutMs: opts.timeoutMs ?? 120_000 });
  const parsed = parseMemslap(r.stdout + r.stderr, test);
  return { ...parsed, exitCode: r.code, timedOut: r.timedOut };
}

// ---------------------------------------------------------------------- wrk

export interface WrkOptions {
  threads?: number;
  connections?: number;
  /** Seconds (default 3). */
  durationSec?: number;
  /** Per-request timeout in seconds (wrk --timeout). */
  requestTimeoutSec?: number;
  /** Extra request headers, "Name: value". */
  headers?: string[];
  /** A Lua script (-s), e.g. to POST. */
  script?: string;
  timeoutMs?: number;
}

export interface WrkErrors {
  connect: number;
  read: number;
  write: number;
  timeout: number;
  /** "Non-2xx or 3xx responses". */
  status: number;
}

export interface WrkResult {
  requests: number;
  durationSec: number;
  requestsPerSec: number;
  bytesRead: string;
  errors: WrkErrors;
  /** Sum of all error counts. */
  totalErrors: number;
  /** Latency percentiles in milliseconds, from --latency. */
  latencyMs: { p50: number | null; p75: number | null; p90: number | null; p99: number | null };
  latencyAvgMs: number | null;
  exitCode: number | null;
  output: string;
}

function toMs(value: string, unit: string): number {
  const v = Number(value);
  switch (unit) {
    case "us":
      return v / 1000;
    case "ms":
      return v;
    case "s":
      return v * 1000;
    case "m":
      return v * 60_000;
    default:
      return v;
  }
}

export function parseWrk(output: string): Omit<WrkResult, "exitCode"> {
  const num = (re: RegExp): number => {
    const m = re.exec(output);
    return m ? Number(m[1]) : 0;
  };
  const reqs = /(\d+) requests in ([\d.]+)(us|ms|s|m),\s*(\S+) read/.exec(output);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const errors: WrkErrors = {
    connect: sock ? Number(sock[1]) : 0,
    read: sock ? Number(sock[2]) : 0,
    write: sock ? Number(sock[3]) : 0,
    timeout: sock ? Number(sock[4]) : 0,
    status: num(/Non-2xx or 3xx responses: (\d+)/),
  };
  const pct = (p: string): number | null => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m").exec(output);
    return m ? toMs(m[1], m[2]) : null;
  };
  const avg = /Latency\s+([\d.]+)(us|ms|s|m)/.exec(output);
  return {
    requests: reqs ? Number(reqs[1]) : 0,
    durationSec: reqs ? toMs(reqs[2], reqs[3]) / 1000 : 0,
    requestsPerSec: num(/Requests\/sec:\s+([\d.]+)/),
    bytesRead: reqs ? reqs[4] : "0",
    errors,
    totalErrors: errors.connect + errors.read + errors.write + errors.timeout + errors.status,
    latencyMs: { p50: pct("50"), p75: pct("75"), p90: pct("90"), p99: pct("99") },
    latencyAvgMs: avg ? toMs(avg[1], avg[2]) : null,
    output,
  };
}

export async function runWrk(url: string, opts: WrkOptions = {}): Promise<WrkResult> {
  const duration = opts.durationSec ?? 3;
  const args = [
    `-t${opts.threads ?? 2}`,
    `-c${opts.connections ?? 16}`,
    `-d${duration}s`,
    "--latency",
  ];
  if (opts.requestTimeoutSec) args.push("--timeout", `${opts.requestTimeoutSec}s`);
  for (const h of opts.headers ?? []) args.push("-H", h);
  if (opts.script) args.push("-s", opts.script);
  args.push(url);
  const r = await run(WRK, args, { timeoutMs: opts.timeoutMs ?? (duration + 30) * 1000 });
  return { ...parseWrk(r.stdout + r.stderr), exitCode: r.code };
}

// --------------------------------------------------------------------- curl

export interface CurlOptions {
  method?: string;
  /** Request body (sent with --data-binary). */
  data?: string | Buffer;
  headers?: Record<string, string>;
  /** Seconds (curl --max-time, default 10). */
  maxTimeSec?: number;
}

export interface CurlResult {
  /** Status of the final response; 0 if curl got none. */
  status: number;
  /** Response headers, names lower-cased (last one wins). */
  headers: Record<string, string>;
  body: string;
  /** curl's exit code (0 = transfer worked, whatever the status). */
  exitCode: number | null;
  stderr: string;
}

/** Parse `curl -i` output: one or more header blocks, then the body. */
export function parseCurlOutput(raw: Buffer): { status: number; headers: Record<string, string>; body: string } {
  let rest = raw;
  let status = 0;
  let headers: Record<string, string> = {};
  for (;;) {
    const text = rest.toString("latin1");
    if (!/^HTTP\/\d(\.\d)? \d{3}/.test(text)) break;
    const end = text.indexOf("\r\n\r\n");
    if (end < 0) break;
    const lines = text.slice(0, end).split("\r\n");
    status = Number(lines[0].split(" ")[1]);
    headers = {};
    for (const line of lines.slice(1)) {
      const i = line.indexOf(":");
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    rest = rest.subarray(end + 4);
    if (status >= 200) break;
  }
  return { status, headers, body: rest.toString("utf8") };
}

export async function curl(url: string, opts: CurlOptions = {}): Promise<CurlResult> {
  const args = ["-s", "-S", "-i", "--http1.1", "--max-time", String(opts.maxTimeSec ?? 10)];
  if (opts.method) args.push("-X", opts.method);
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push("-H", `${k}: ${v}`);
  if (opts.data !== undefined) args.push("--data-binary", "@-");
  args.push(url);
  const raw = await new Promise<{ out: Buffer; err: string; code: number | null }>((resolve, reject) => {
    const child = spawn(CURL, args, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => {
      err += b.toString("utf8");
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ out: Buffer.concat(out), err, code }));
    child.stdin.on("error", () => {});
    if (opts.data !== undefined) child.stdin.end(opts.data);
    else child.stdin.end();
  });
  const parsed = parseCurlOutput(raw.out);
  return { ...parsed, exitCode: raw.code, stderr: raw.err };
}
