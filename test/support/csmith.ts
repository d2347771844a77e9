/**
 * Differential testing with Csmith: a random C program, built stock (plain
 * gcc) and updateable (compileProgram, as `graft compile` does) with the same
 * flags, must print the same checksum line under both builds.
 *
 * One seed goes through four steps, each of which can end it:
 *
 *   generate   csmith --seed N with CSMITH_OPTIONS            -> stock-unusable
 *   stock      gcc CSMITH_CFLAGS, run it with a time limit    -> stock-unusable
 *   updateable compileProgram with CSMITH_CFLAGS, run it      -> graft-failed
 *   compare    both printed the same checksum line            -> same / differs
 *
 * A seed whose stock build does not compile, times out, crashes or prints no
 * checksum is Csmith's (or gcc's) problem, not Graft's: it is reported as
 * "stock-unusable" and proves nothing. Every failure to build Graft's side, a
 * Graft diagnostic or gcc rejecting Graft's output, is "graft-failed": the
 * updateable build must accept whatever the stock one does. A Csmith program
 * has no update point, which is fine: the rewrite (slots, wrapped types,
 * renamed statics) is what is under test, not updating.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { compileProgram } from "../../lib/compile/index.js";
import { formatDiagnostic, GraftError } from "../../lib/model/diagnostics.js";
import { run, type RunResult } from "./process.js";

/** Where Debian's libcsmith-dev puts csmith.h (`dpkg -L libcsmith-dev`). */
export const CSMITH_INCLUDE_DIR = "/usr/include/csmith";

/**
 * What Csmith generates. Small programs (at most 5 functions besides main)
 * that build and run in a second; structs, unions, bitfields, packed structs,
 * arrays and pointers stay in, since they are what Graft rewrites. Volatiles
 * go: they only test the optimiser, and their accesses are never rewritten.
 */
export const CSMITH_OPTIONS: readonly string[] = ["--no-volatiles", "--no-volatile-pointers", "--max-funcs", "5"];

/** The flags both builds get: -w because Csmith's code warns a lot, on purpose. */
export const CSMITH_CFLAGS: readonly string[] = ["-O1", "-w", `-I${CSMITH_INCLUDE_DIR}`];

/** How long the stock program may run; one that runs longer is dropped (Csmith makes some that loop for minutes). */
export const STOCK_RUN_TIMEOUT_MS = 5_000;

export type CsmithOutcome = "same" | "differs" | "graft-failed" | "stock-unusable";

/** The step at which a seed ended: what the details are about. */
export type CsmithStep = "generate" | "stock-build" | "stock-run" | "graft-build" | "graft-run" | "compare";

export interface CsmithResult {
  seed: number;
  outcome: CsmithOutcome;
  step: CsmithStep;
  /** The first lines of whatever ended the seed (diagnostics, gcc's errors, the two outputs); empty when "same". */
  details: string[];
  /** The generated program. */
  source: string;
  /** The checksum lines printed by each build, when it ran. */
  stockChecksum?: string;
  updateableChecksum?: string;
  /** Wall-clock milliseconds of each step that ran. */
  ms: { generate?: number; stockBuild?: number; stockRun?: number; graftBuild?: number; graftRun?: number };
}

export interface CsmithRunOptions {
  /** Options for csmith instead of CSMITH_OPTIONS (the seed is added). */
  csmithOptions?: readonly string[];
  /** Flags for both builds instead of CSMITH_CFLAGS. */
  cflags?: readonly string[];
  stockTimeoutMs?: number;
  /** Lines of details kept (default 12). */
  detailLines?: number;
}

/** What is missing to run Csmith seeds here, each with the Debian package that provides it. */
export function missingCsmithTools(): { tool: string; debianPackage: string }[] {
  const missing: { tool: string; debianPackage: string }[] = [];
  if (spawnSync("csmith", ["--version"], { encoding: "utf8", cwd: os.tmpdir() }).status !== 0) missing.push({ tool: "csmith", debianPackage: "csmith" });
  if (!existsSync(path.join(CSMITH_INCLUDE_DIR, "csmith.h"))) missing.push({ tool: path.join(CSMITH_INCLUDE_DIR, "csmith.h"), debianPackage: "libcsmith-dev" });
  return missing;
}

/** The line a Csmith program ends with: `checksum = 1A2B3C4D`. */
export function checksumLine(stdout: string): string | undefined {
  return /^checksum = [0-9A-F]+$/m.exec(stdout)?.[0];
}

/** How a program run ended, in a few words: "exit 0", "killed by SIGSEGV", "timed out after 5000 ms". */
export function describeRun(r: RunResult, timeoutMs: number): string {
  if (r.timedOut) return `timed out after ${timeoutMs} ms`;
  if (r.signal) return `killed by ${r.signal}`;
  return `exit ${r.code}`;
}

function firstLines(text: string, n: number): string[] {
  return text
    .split("\n")
    .map((l) => l.trimEnd())
    .filter((l) => l !== "")
    .slice(0, n);
}

/**
 * The lines of a failed updateable build worth showing: each diagnostic
 * formatted, gcc's error lines first (they say what Graft's output got wrong;
 * the "In function" context follows them).
 */
export function graftFailureLines(e: unknown, n: number): string[] {
  if (!(e instanceof GraftError)) return firstLines(e instanceof Error ? (e.stack ?? e.message) : String(e), n);
  const lines = e.diagnostics.flatMap((d) => firstLines(formatDiagnostic(d), 1000));
  const errors = lines.filter((l) => /\berror\b/.test(l));
  const shown = [...new Set([...errors, ...lines])].slice(0, n);
  return shown.length ? shown : [e.message];
}

/**
 * The class of a graft failure: its first gcc `error:` message (or its first
 * Graft diagnostic) with the program's own names, numbers and places taken
 * out, so that one bug gives one class whatever seed shows it.
 */
export function failureClass(details: readonly string[]): string {
  const gccError = details.find((l) => /\berror: /.test(l) && !/\berror GR\d+/.test(l));
  const line = gccError ? gccError.slice(gccError.indexOf("error: ")) : (details[0] ?? "(no details)");
  return line
    .replace(/^.*?\b(error GR\d+:)/, "$1")
    .replace(/[‘'`"][^’'`"]*[’'`"]/g, "'…'")
    .replace(/\/\S+/g, "<path>")
    .replace(/\b\d+\b/g, "N")
    .trim();
}

/** Generates, builds and runs one seed in workDir/<seed> (removed afterwards unless keep). */
export async function runCsmithSeed(seed: number, workDir: string, opts: CsmithRunOptions & { keep?: boolean } = {}): Promise<CsmithResult> {
  const dir = path.join(workDir, String(seed));
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  try {
    return await runSeedIn(seed, dir, opts);
  } finally {
    if (!opts.keep) await rm(dir, { recursive: true, force: true });
  }
}

async function runSeedIn(seed: number, dir: string, opts: CsmithRunOptions): Promise<CsmithResult> {
  const cflags = [...(opts.cflags ?? CSMITH_CFLAGS)];
  const stockTimeout = opts.stockTimeoutMs ?? STOCK_RUN_TIMEOUT_MS;
  const n = opts.detailLines ?? 12;
  const source = path.join(dir, `csmith-${seed}.c`);
  const ms: CsmithResult["ms"] = {};
  const result = (outcome: CsmithOutcome, step: CsmithStep, details: string[], extra: Partial<CsmithResult> = {}): CsmithResult => ({
    seed,
    outcome,
    step,
    details,
    source,
    ms,
    ...extra,
  });
  const timed = async <T>(key: keyof CsmithResult["ms"], f: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      ms[key] = performance.now() - t0;
    }
  };

  // 1. generate
  const gen = await timed("generate", () => run("csmith", ["--seed", String(seed), ...(opts.csmithOptions ?? CSMITH_OPTIONS), "-o", source], { cwd: dir, timeoutMs: 60_000 }));
  if (gen.code !== 0 || !existsSync(source)) return result("stock-unusable", "generate", [`csmith ${describeRun(gen, 60_000)}`, ...firstLines(gen.stderr, n - 1)]);

  // 2. stock: plain gcc, then a run with a time limit
  const stockExe = path.join(dir, "stock");
  const sb = await timed("stockBuild", () => run("gcc", [...cflags, source, "-o", stockExe], { cwd: dir }));
  if (sb.code !== 0) return result("stock-unusable", "stock-build", [`gcc ${describeRun(sb, 120_000)}`, ...firstLines(sb.stderr, n - 1)]);
  const sr = await timed("stockRun", () => run(stockExe, [], { cwd: dir, timeoutMs: stockTimeout }));
  const stockChecksum = checksumLine(sr.stdout);
  if (sr.timedOut || sr.code !== 0 || !stockChecksum) {
    return result("stock-unusable", "stock-run", [`stock run: ${describeRun(sr, stockTimeout)}${stockChecksum ? "" : ", no checksum line"}`, ...firstLines(sr.stderr, n - 1)]);
  }

  // 3. updateable: every failure here is Graft's
  let exe: string;
  try {
    const c = await timed("graftBuild", () =>
      compileProgram({ name: "csmith", files: [path.basename(source)], outDir: path.join(dir, "graft"), cflags, cwd: dir, insecureAcceptUnsigned: true }),
    );
    exe = c.executable;
  } catch (e) {
    return result("graft-failed", "graft-build", graftFailureLines(e, n), { stockChecksum });
  }
  // The updateable build may be slower (calls through slots, version checks), never by this much.
  const graftTimeout = Math.max(10_000, 20 * (ms.stockRun ?? 0));
  const gr = await timed("graftRun", () => run(exe, [], { cwd: dir, timeoutMs: graftTimeout }));
  const updateableChecksum = checksumLine(gr.stdout);

  // 4. compare
  if (gr.timedOut || gr.code !== 0 || updateableChecksum !== stockChecksum) {
    return result(
      "differs",
      gr.timedOut || gr.code !== 0 || !updateableChecksum ? "graft-run" : "compare",
      [`stock: ${stockChecksum} (exit 0)`, `updateable: ${updateableChecksum ?? "no checksum line"} (${describeRun(gr, graftTimeout)})`, ...firstLines(gr.stderr, n - 2)],
      { stockChecksum, ...(updateableChecksum ? { updateableChecksum } : {}) },
    );
  }
  return result("same", "compare", [], { stockChecksum, updateableChecksum });
}
