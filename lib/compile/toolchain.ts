/** gcc invocations and the location of libgraft, shared by compile and patch. */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { GraftError } from "../model/diagnostics.js";
import { COMPILER_JOBS, mapConcurrent } from "../cfront/jobs.js";
import { runTool } from "./sandbox.js";

const run = promisify(execFile);

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const RUNTIME_DIR = path.join(REPO_ROOT, "native/runtime");
export const RUNTIME_INCLUDE = path.join(RUNTIME_DIR, "include");
export const LIBGRAFT = path.join(RUNTIME_DIR, "build/libgraft.a");
/** The shared runtime: programs load it from their own directory ($ORIGIN), where `graft compile` puts a copy. */
export const LIBGRAFT_SONAME = "libgraft.so.1";
export const LIBGRAFT_SO = path.join(RUNTIME_DIR, "build", LIBGRAFT_SONAME);

export async function ensureRuntime(): Promise<string> {
  if (!existsSync(LIBGRAFT) || !existsSync(LIBGRAFT_SO)) {
    try {
      await run("make", ["-C", RUNTIME_DIR, "all"], { maxBuffer: 16 << 20 });
    } catch (e) {
      throw new GraftError("cannot build libgraft", [{ code: 3010, category: "error", file: RUNTIME_DIR, message: `make failed: ${String((e as { stderr?: string }).stderr ?? e)}` }]);
    }
  }
  return LIBGRAFT;
}

export async function gcc(args: string[], cwd: string, what: string, code = 3011): Promise<string> {
  try {
    const { stderr } = await runTool("gcc", args, { cwd, maxBuffer: 64 << 20 });
    return stderr;
  } catch (e) {
    const err = e as { stderr?: string; message?: string };
    throw new GraftError(`gcc failed: ${what}`, [{ code, category: "error", message: `gcc failed on ${what}:\n${(err.stderr || err.message || "").trim().split("\n").slice(0, 30).join("\n")}` }]);
  }
}

/**
 * The runtime entry points rewritten units call, as plain text: preprocessed
 * units cannot #include, and graft_abi.h pulls in system headers whose
 * anonymous typedefs would clash with the unit's own copies. grt_type stays
 * incomplete here: generated code only takes its address.
 */
export async function abiPrelude(): Promise<string> {
  return `/* ---- graft: runtime entry points (see native/runtime/include/graft_abi.h) ---- */
typedef struct grt_type grt_type;
extern void grt_con_slow(grt_type *t, unsigned *ver, unsigned want);
extern void *grt_first_block(void *block, grt_type *t);
extern void *grt_stamp(void *block, unsigned long bytes, unsigned long elem_size, unsigned want);
extern int grt_update_point_restart(unsigned point_id);
extern int grt_hold;
${ALLOC_HELPERS}/* ---- graft: end of prelude ---- */
`;
}

// Allocation sites whose block becomes a wrapped type stamp its elements with
// the version the allocating code knows; realloc stamps only the new tail.
// calloc's zeroes already say version 0: stamping them would only touch pages.
const ALLOC_HELPERS = `
extern void *malloc(unsigned long); extern void *calloc(unsigned long, unsigned long);
extern void *realloc(void *, unsigned long); extern unsigned long malloc_usable_size(void *); extern void free(void *);
static inline __attribute__((unused)) void *__graft_malloc(unsigned long n, unsigned long esz, unsigned v) { return grt_stamp(malloc(n), n, esz, v); }
static inline __attribute__((unused)) void *__graft_calloc(unsigned long c, unsigned long s, unsigned long esz, unsigned v) { return v ? grt_stamp(calloc(c, s), c * s, esz, v) : calloc(c, s); }
static inline __attribute__((unused)) void *__graft_realloc(void *p, unsigned long n, unsigned long esz, unsigned v) {
  unsigned long old = p ? malloc_usable_size(p) / esz * esz : 0; char *q = realloc(p, n);
  if (q && n > old) grt_stamp(q + old, n - old, esz, v); return q; }
static inline __attribute__((unused)) void *__graft_stamp_block(void *p, unsigned long esz, unsigned v) {
  return p ? grt_stamp(p, malloc_usable_size(p) / esz * esz, esz, v) : p; }
static inline __attribute__((unused)) void *__graft_zero_block(void *p) {
  if (p) __builtin_memset(p, 0, malloc_usable_size(p)); return p; }
/* (void *)-1 is MAP_FAILED or sbrk's failure: not a block, not to be read. */
static inline __attribute__((unused)) void *__graft_first_block(void *p, grt_type *t) {
  return p && p != (void *)-1 && *(unsigned *)p != 0u ? grt_first_block(p, t) : p; }
static inline __attribute__((unused)) void *__graft_malloc0(unsigned long n) { return calloc(1, n); }
static inline __attribute__((unused)) void *__graft_realloc0(void *p, unsigned long n) {
  unsigned long old = p ? malloc_usable_size(p) : 0; char *q = realloc(p, n);
  if (q && n > old) __builtin_memset(q + old, 0, n - old); return q; }
`;

/**
 * Sizes of the `__graft_size_<kind>_<type>` probe arrays in compiled objects:
 * how big a type's data (`d`) and wrapper (`w`) really are, read with nm.
 */
export async function readSizeProbes(objects: string[]): Promise<Map<string, { data: number; wrapper: number }>> {
  const sizes = new Map<string, { data: number; wrapper: number }>();
  if (!objects.length) return sizes;
  // One nm for all: probe names are unique across a build's objects.
  const { stdout } = await runTool("nm", ["-S", ...objects], { maxBuffer: 64 << 20 });
  for (const line of stdout.split("\n")) {
    const m = /^[0-9a-f]+ ([0-9a-f]+) [bBdD] __graft_size_([dw])_(\w+)$/.exec(line.trim());
    if (!m) continue;
    const s = sizes.get(m[3]) ?? { data: 0, wrapper: 0 };
    if (m[2] === "d") s.data = parseInt(m[1], 16); else s.wrapper = parseInt(m[1], 16);
    sizes.set(m[3], s);
  }
  return sizes;
}

/** Names the objects reference but do not define (one nm for all). */
export async function undefinedSymbols(objects: string[]): Promise<Set<string>> {
  const names = new Set<string>();
  if (!objects.length) return names;
  const { stdout } = await runTool("nm", ["-u", "--format=just-symbols", ...objects], { maxBuffer: 64 << 20 });
  for (const line of stdout.split("\n")) if (/^[A-Za-z_.$][\w.$]*$/.test(line.trim())) names.add(line.trim());
  return names;
}

/**
 * Makes the objects' references to `names` weak, in place: a patch binds
 * them by index (graft_abi.h, imports.c), so dlopen must not look for them by name.
 */
export async function weakenReferences(objects: string[], names: string[], listFile: string): Promise<void> {
  if (!names.length) return;
  await writeFile(listFile, names.join("\n") + "\n");
  await mapConcurrent(objects, COMPILER_JOBS, async (o) => {
    try {
      await runTool("objcopy", [`--weaken-symbols=${listFile}`, o]);
    } catch (e) {
      throw new GraftError("objcopy failed", [{ code: 3011, category: "error", file: o, message: `objcopy --weaken-symbols failed: ${String((e as { stderr?: string }).stderr ?? e).trim()}` }]);
    }
  });
}

let libcNames: Promise<Set<string>> | undefined;

/**
 * The functions the C library exports. A call the program makes to one of
 * them does not wait in a call the runtime sees (the library's own calls to
 * read or poll do not go through the runtime's; native/runtime/blocking.c),
 * unless it is one of those calls itself. Empty when the library cannot be
 * read: every external call then counts as one that may wait.
 */
export function libcExports(): Promise<Set<string>> {
  libcNames ??= (async () => {
    try {
      const { stdout: file } = await runTool("gcc", ["-print-file-name=libc.so.6"], {});
      const { stdout } = await runTool("nm", ["-D", "--defined-only", "--format=just-symbols", file.trim()], { maxBuffer: 16 << 20 });
      return new Set(stdout.split("\n").map((l) => l.trim().replace(/@.*$/, "")).filter(Boolean));
    } catch {
      return new Set<string>();
    }
  })();
  return libcNames;
}
