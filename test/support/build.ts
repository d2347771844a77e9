/**
 * Building the example programs (native/examples/<program>/<version>) with
 * their own Makefiles and plain gcc.
 */
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { run } from "./process.js";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const EXAMPLES_DIR = path.join(REPO_ROOT, "native", "examples");
export const GRAFT_INCLUDE_DIR = path.join(REPO_ROOT, "native", "runtime", "include");

export type ExampleProgram = "kvd" | "httpd";
/** Releases both programs have. */
export type ExampleVersion = "v0" | "v1" | "v2";
/** kvd has one more: v3 changes struct conn again after v2 moved it out of line. */
export type KvdVersion = ExampleVersion | "v3";
export type AnyExampleVersion = KvdVersion;
export const EXAMPLE_PROGRAMS: readonly ExampleProgram[] = ["kvd", "httpd"];
export const EXAMPLE_VERSIONS: readonly ExampleVersion[] = ["v0", "v1", "v2"];
export const KVD_RELEASES: readonly KvdVersion[] = [...EXAMPLE_VERSIONS, "v3"];

/** The releases of one example program, oldest first. */
export function releasesOf(program: ExampleProgram): readonly AnyExampleVersion[] {
  return program === "kvd" ? KVD_RELEASES : EXAMPLE_VERSIONS;
}

/** Source directory of one release of one example program. */
export function exampleDir(program: ExampleProgram, version: AnyExampleVersion): string {
  return path.join(EXAMPLES_DIR, program, version);
}

export interface BuildResult {
  /** The source directory that was built. */
  dir: string;
  /** Where the objects and the program went. */
  outDir: string;
  /** Absolute path of the built program. */
  binary: string;
  /** make's combined output. */
  log: string;
}

export class BuildError extends Error {
  constructor(
    message: string,
    readonly log: string,
  ) {
    super(message);
    this.name = "BuildError";
  }
}

export interface BuildOptions {
  /** Program name; default: the name of the directory's parent. */
  program?: string;
  /** Replaces the Makefile's CFLAGS default (-O2 -g); warnings and includes are still added. */
  cflags?: string;
  /** Extra make variables, e.g. { CC: "clang" }. */
  makeVars?: Record<string, string>;
  timeoutMs?: number;
}

/**
 * Build the stock (not updateable) program in `dir` by running its Makefile.
 * The program is named after the directory's parent (`.../kvd/v1` -> `kvd`),
 * or pass `program`. With `outDir`, objects and the program are written there
 * (`make OUT=...`), leaving the source tree clean.
 */
export async function buildStock(
  dir: string,
  outDir?: string,
  opts: BuildOptions = {},
): Promise<BuildResult> {
  const absDir = path.resolve(dir);
  const program = opts.program ?? path.basename(path.dirname(absDir));
  const out = outDir ? path.resolve(outDir) : absDir;
  if (!existsSync(path.join(absDir, "Makefile"))) {
    throw new BuildError(`no Makefile in ${absDir}`, "");
  }
  if (outDir) await mkdir(out, { recursive: true });
  const args = ["-C", absDir, `GRAFT_INCLUDE=${GRAFT_INCLUDE_DIR}`];
  if (outDir) args.push(`OUT=${out}`);
  if (opts.cflags !== undefined) args.push(`CFLAGS=${opts.cflags}`);
  for (const [k, v] of Object.entries(opts.makeVars ?? {})) args.push(`${k}=${v}`);
  const r = await run("make", args, { timeoutMs: opts.timeoutMs ?? 120_000 });
  const log = r.stdout + r.stderr;
  const binary = path.join(out, program);
  if (r.code !== 0 || !existsSync(binary)) {
    throw new BuildError(`make failed in ${absDir} (exit ${r.code})`, log);
  }
  return { dir: absDir, outDir: out, binary, log };
}
