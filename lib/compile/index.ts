/**
 * `graft compile`: from a C program's sources to an updateable executable and
 * its version data. Reads as the list of its passes.
 */
import { waitCandidates } from "../analysis/blocked-sites.js";
import { linkerScript } from "./function-sections.js";
import { copyFile, mkdir, readFile, rename, writeFile, rm } from "node:fs/promises";
import path from "node:path";
import { parseProgram } from "../cfront/program.js";
import { collectFacts } from "../analysis/facts.js";
import { GraftError, hasErrors, type Diagnostic } from "../model/diagnostics.js";
import type { VdThread, VersionData } from "../model/version-data.js";
import { threadPoints } from "../analysis/thread-entries.js";
import { abiPrelude, ensureRuntime, gcc, libcExports, LIBGRAFT_SO, LIBGRAFT_SONAME, readSizeProbes, RUNTIME_INCLUDE } from "./toolchain.js";
import { COMPILER_JOBS, mapConcurrent } from "../cfront/jobs.js";
import { rewriteUnit, type RewriteContext, type WrappedType } from "./rewrite-unit.js";
import { buildVersionData, staticSymbol, digestOf } from "./version-data-builder.js";
import { readPublicKeyHex } from "./trust.js";
import { roomExpr } from "./room.js";
import { chooseDirectFunctions } from "./direct-calls.js";
import { readySandbox } from "./sandbox.js";


/** GRT_MAX_KEYS of native/runtime/bundle.c. */
const MAX_TRUSTED_KEYS = 64;

export interface CompileOptions {
  name: string;
  files: string[];
  outDir: string;
  cflags?: string[];
  ldflags?: string[];
  trustedKeys?: string[];
  insecureAcceptUnsigned?: boolean;
  /** Spare bytes per type key, overriding GRT_ROOM. */
  rooms?: Record<string, number>;
  /** Link libgraft.a into the executable instead of loading libgraft.so.1 from its directory: one file to deploy, a larger one. */
  staticRuntime?: boolean;
  cwd?: string;
  onProgress?: (msg: string) => void;
}

export interface CompileResult {
  executable: string;
  versionDataPath: string;
  versionData: VersionData;
  diagnostics: Diagnostic[];
}

export async function compileProgram(opts: CompileOptions): Promise<CompileResult> {
  readySandbox();
  const cwd = path.resolve(opts.cwd ?? process.cwd());
  const outDir = path.resolve(cwd, opts.outDir);
  const work = path.join(outDir, `.graft-build-${opts.name}`);
  const cflags = opts.cflags ?? [];
  const progress = opts.onProgress ?? (() => {});
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const t0 = performance.now();

  // Keys first: a bad --trust file must fail before minutes of compiling.
  if (!/^[A-Za-z0-9._-]+$/.test(opts.name)) {
    throw new GraftError(`--name ${opts.name}: not a program name`, [{ code: 3020, category: "error", message: `--name '${opts.name}': use letters, digits, '.', '_' and '-' only` }], 2);
  }
  const keys = await Promise.all((opts.trustedKeys ?? []).map((k) => readPublicKeyHex(path.resolve(cwd, k))));
  if (keys.length > MAX_TRUSTED_KEYS) {
    throw new GraftError(`--trust given ${keys.length} times`, [{ code: 3021, category: "error", message: `at most ${MAX_TRUSTED_KEYS} trusted keys (the runtime's limit), got ${keys.length}` }], 2);
  }

  progress(`parsing ${opts.files.length} file(s)`);
  const program = await parseProgram({ files: opts.files, cflags, cwd, workDir: work, onProgress: progress });
  const facts = collectFacts(program, await libcExports());
  const diagnostics: Diagnostic[] = [...program.diagnostics];

  // ---- which types are wrapped, and their room --------------------------
  const wrapped = new Map<string, WrappedType>();
  for (const [key, defs] of program.types) {
    if (facts.fixed.has(key) || defs[0].rec.kind !== "struct") continue;
    const spare = opts.rooms?.[key];
    wrapped.set(key, {
      key, spelling: defs[0].rec.spelling, version: 0, outOfLine: false,
      roomExpr: roomExpr(`sizeof(struct __graft_d_${key}_v0)`, spare),
    });
  }
  for (const k of Object.keys(opts.rooms ?? {})) {
    if (!program.types.has(k)) diagnostics.push({ code: 3004, category: "error", message: `--room ${k}=...: the program has no struct named '${k}'` });
  }

  const pointIds = new Map<unknown, number>();
  let nextPoint = 1;
  for (const tu of program.units) for (const p of tu.updatePoints) pointIds.set(p.call, nextPoint++);

  const direct = chooseDirectFunctions(program, facts);
  const candidates = waitCandidates(facts, program.units, direct, await libcExports());
  const ctx: RewriteContext = {
    mode: "compile", program, facts, wrapped, pointIds: pointIds as RewriteContext["pointIds"],
    globalSymbol: (tu, g) => (g.isStatic ? staticSymbol(tu, g) : g.name), planFunction: () => ({ kind: "keep" }), isExistingGlobal: () => false, isNewFunction: () => false,
    isDirect: (u) => direct.has(u),
    isWaitCandidate: (u) => candidates.has(u),
    dataName: (key) => `__graft_d_${key}_v0`,
  };

  // ---- rewrite every unit -------------------------------------------------
  const prelude = await abiPrelude();
  const objects: string[] = [];
  const firstDefiner = new Map<string, number>();
  program.units.forEach((tu, i) => tu.records.forEach((r) => { if (wrapped.has(r.key) && !firstDefiner.has(r.key)) firstDefiner.set(r.key, i); }));
  const envFields = new Map<string, string[]>();
  // By unit, in unit order: the link keeps the functions in the order of the sources.
  const sectionedByUnit: string[][] = [];
  // Each unit goes to gcc as soon as it is rewritten, a few at a time; a
  // unit the rewrite refused is not compiled, and Graft's own diagnostics are
  // reported before any of gcc's.
  await ensureRuntime();
  const optFlags = cflags.filter((f) => !/^-(D|U|I|include)/.test(f));
  const compiled = await mapConcurrent(program.units, COMPILER_JOBS, async (tu, i) => {
    const r = rewriteUnit(tu, ctx, prelude);
    diagnostics.push(...r.diagnostics);
    for (const [u, f] of r.envFields) envFields.set(u, f);
    sectionedByUnit[i] = r.sectioned;
    if (hasErrors(r.diagnostics)) return null;
    // Size probes: read back with nm, so the version data records real layouts.
    let probes = "";
    for (const [key, idx] of firstDefiner) if (idx === i) {
      probes += `\nstatic char __graft_size_d_${key}[sizeof(struct __graft_d_${key}_v0)] __attribute__((used)); static char __graft_size_w_${key}[sizeof(${wrapped.get(key)!.spelling})] __attribute__((used));`;
    }
    const base = path.basename(tu.source).replace(/\.c$/, "");
    const src = path.join(work, `${i}-${base}.graft.i`);
    const obj = path.join(work, `${i}-${base}.o`);
    await writeFile(src, r.text + probes + "\n");
    try {
      await gcc(["-c", ...optFlags, "-fno-strict-aliasing", src, "-o", obj], cwd, tu.source);
    } catch (e) {
      return { obj, failure: e };
    }
    progress(`compiled ${tu.source}`);
    return { obj, failure: null };
  });
  if (hasErrors(diagnostics)) throw new GraftError(`${opts.name}: cannot make an updateable build`, diagnostics, 2);
  for (const c of compiled) if (c?.failure) throw c.failure;
  objects.push(...compiled.map((c) => c!.obj));

  // ---- version data, then the meta unit that embeds its digest ------------
  const sizes = await readSizeProbes([...new Set(firstDefiner.values())].map((i) => objects[i]));
  const vd = await buildVersionData({ name: opts.name, program, facts, wrapped, pointIds, sizes, cflags, cwd, rooms: opts.rooms ?? {}, envFields, direct, waitCandidates: candidates });
  vd.exeSymbols = tableSymbols(vd);
  vd.threads = threadPoints(facts, vd.updatePoints);
  diagnostics.push(...threadsWithoutPoints(vd.threads));
  vd.digest = digestOf(vd);

  const meta = path.join(work, "graft-meta.c");
  await writeFile(meta, metaUnit(vd, keys, !!opts.insecureAcceptUnsigned));
  const metaObj = path.join(work, "graft-meta.o");
  // No unwind tables: its one function, which sets names, is never unwound through.
  await gcc(["-c", "-O2", "-fno-asynchronous-unwind-tables", "-I", RUNTIME_INCLUDE, meta, "-o", metaObj], cwd, "graft-meta.c");

  const lib = await ensureRuntime();
  const exe = path.join(outDir, opts.name);
  // Patches bind to the program by index (__graft_symtab): names are exported only for what a table cannot hold.
  const exportsList = path.join(work, "exports.list");
  await writeFile(exportsList, `{\n${[...exportedSymbols(vd), ...(opts.staticRuntime ? RUNTIME_INTERPOSED : [])].map((x) => `  ${x};`).join("\n")}\n};\n`);
  let runtime: string[];
  if (opts.staticRuntime) {
    // Patches call the whole runtime API even when this build does not (no check in first-version code): keep it linked.
    runtime = [lib, ...RUNTIME_EXPORTS.map((x) => `-Wl,--undefined=${x}`)];
  } else {
    // The runtime is shared, like libc: the program finds its copy beside itself, whatever directory it is deployed to.
    await installRuntime(path.join(outDir, LIBGRAFT_SONAME));
    runtime = [LIBGRAFT_SO, "-Wl,-rpath,$ORIGIN"];
  }
  // DT_RELR: the table's relative relocations, and the slots' initialisers, in a few words instead of 24 bytes each.
  const script = path.join(work, "graft-text.ld");
  await writeFile(script, linkerScript(sectionedByUnit.flat()));
  await gcc([`-Wl,--dynamic-list=${exportsList}`, "-Wl,-z,pack-relative-relocs", `-Wl,-T,${script}`, "-o", exe, ...objects, metaObj, ...runtime, ...(opts.ldflags ?? []), "-lpthread", "-ldl"], cwd, `linking ${opts.name}`);
  const vdPath = path.join(outDir, `${opts.name}.vd.json`);
  await writeFile(vdPath, JSON.stringify(vd, null, 2) + "\n");
  const shown = path.relative(cwd, exe).startsWith("..") ? exe : path.relative(cwd, exe);
  progress(`built ${shown} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return { executable: exe, versionDataPath: vdPath, versionData: vd, diagnostics };
}

/**
 * Puts the shared runtime beside the executable. A program of an earlier build
 * may be running from this directory with the old copy mapped: the copy is
 * replaced by a rename, never rewritten in place.
 */
async function installRuntime(dest: string): Promise<void> {
  const want = await readFile(LIBGRAFT_SO);
  const have = await readFile(dest).catch(() => undefined);
  if (have && want.equals(have)) return;
  const tmp = `${dest}.tmp-${process.pid}-${Date.now()}`;
  await copyFile(LIBGRAFT_SO, tmp);
  await rename(tmp, dest);
}

/**
 * A thread whose code holds no update point never arrives at the barrier an
 * update is: while it runs, every update is refused at its timeout. Only
 * threads of a program that has update points at all are worth a word.
 */
export function threadsWithoutPoints(threads: readonly VdThread[]): Diagnostic[] {
  if (!threads.some((t) => t.points.length)) return [];
  return threads.filter((t) => !t.points.length).map((t) => ({
    code: 3030, category: "warning" as const, file: t.file, line: t.line,
    message: `the thread started here at ${t.entry}() reaches no update point: an update waits for every thread at one (or waiting in poll, accept, read... in a function the patch finds safe), so while it runs elsewhere every update is refused at its timeout; put GRAFT_UPDATE_POINT() in its loop`,
  }));
}

/** The runtime entry points generated code calls (graft.h, graft_abi.h). */
const RUNTIME_EXPORTS = ["grt_pending", "grt_update_point", "grt_update_point_restart", "grt_con_slow", "grt_stamp"];

/**
 * C library functions the runtime defines in front of libc's (thread_gate.c,
 * blocking.c). A shared runtime exports them itself; a static one is in the
 * executable, which must export them so that libraries' calls bind there too.
 */
const RUNTIME_INTERPOSED = ["pthread_create", "epoll_wait", "epoll_pwait", "poll", "ppoll", "select", "pselect", "accept", "accept4", "read", "recv", "recvfrom", "recvmsg"];

/** Every symbol a patch may bind to in the executable by index: slots, stable entries, storage of globals, type registrations. */
export function tableSymbols(vd: VersionData): string[] {
  return [...new Set([
    ...vd.functions.filter((f) => f.slot).map((f) => f.slot),
    ...vd.functions.filter((f) => f.addressTaken && !f.variadic).map((f) => `__graft_stub_${f.uname}`),
    ...vd.globals.filter((g) => !g.threadLocal).map((g) => g.symbol),
    ...vd.types.filter((t) => t.wrapped).map((t) => `__graft_type_${t.key}`),
  ])];
}

/**
 * What the executable exports by name: the runtime's entry points (with a
 * static runtime, patches call them in the executable) and thread-local
 * globals, whose address differs per thread and so has no place in the table.
 */
export function exportedSymbols(vd: VersionData): string[] {
  return [...RUNTIME_EXPORTS, ...vd.globals.filter((g) => g.threadLocal).map((g) => g.symbol)];
}

function cString(s: string): string {
  return JSON.stringify(s);
}

function metaUnit(vd: VersionData, keys: string[], insecure: boolean): string {
  const wrapped = vd.types.filter((t) => t.wrapped);
  // Types are defined in this unit; everything else is declared with any object type: only its address is taken.
  const own = new Set(wrapped.map((t) => `__graft_type_${t.key}`));
  const table = vd.exeSymbols ?? [];
  const symtab = `${table.filter((x) => !own.has(x)).map((x) => `extern char ${x};`).join("\n")}
void *const __graft_symtab[] = {
${table.map((x) => `    &${x},`).join("\n")}
    0
};
const size_t __graft_symtab_len = ${table.length};`;
  // Zero-initialised, the registrations (a table of transformer steps each) cost no bytes in the file;
  // their names, read only in messages, are set before main.
  const types = wrapped.map((t) => `grt_type __graft_type_${t.key};`).join("\n") +
    (wrapped.length ? `\n__attribute__((constructor)) static void graft_type_names(void)\n{\n${wrapped.map((t) => `    __graft_type_${t.key}.name = ${cString(t.spelling)};`).join("\n")}\n}` : "");
  return `/* Generated by graft compile: what the runtime knows about this build. */
#include "graft_abi.h"
const char grt_program_name[] = ${cString(vd.program)};
const char grt_version_digest[] = ${cString(vd.digest)};
const char grt_trusted_keys[] = ${cString(keys.map((k) => k + "\n").join(""))};
const int grt_insecure_unsigned = ${insecure ? 1 : 0};
/* The bounds of every function of the program (lib/compile/function-sections.ts), for the runtime's blocked.c. */
extern const grt_fn_range __start_graft_fntab[] __attribute__((weak, visibility("hidden")));
extern const grt_fn_range __stop_graft_fntab[] __attribute__((weak, visibility("hidden")));
extern const char __graft_text_begin[] __attribute__((visibility("hidden"))), __graft_text_end[] __attribute__((visibility("hidden")));
const grt_fn_table grt_program_fntab = { __start_graft_fntab, __stop_graft_fntab, __graft_text_begin, __graft_text_end };
${types}
${symtab}
`;
}

