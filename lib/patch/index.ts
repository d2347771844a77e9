/**
 * `graft patch`: from the running version's data and the next version's
 * sources to a dynamic patch. Reads as its passes, in the manner of kpatch's
 * create-diff-object: parse -> draft the next version data -> correlate and
 * compare -> verify patchability -> rewrite -> transformers -> build -> write.
 */
import { mkdir, readFile, readdir, rm, writeFile, copyFile } from "node:fs/promises";
import path from "node:path";
import { COMPILER_JOBS, mapConcurrent } from "../cfront/jobs.js";
import { parseProgram } from "../cfront/program.js";
import { unameOf } from "../cfront/program.js";
import { collectFacts } from "../analysis/facts.js";
import { GraftError, type Diagnostic } from "../model/diagnostics.js";
import { INPUT_LIMITS, readInputFile } from "../model/read-input-file.js";
import { linkerScript } from "../compile/function-sections.js";
import type { VersionData } from "../model/version-data.js";
import type { PatchManifest, ThreadVerdict } from "../model/patch-manifest.js";
import { threadPoints, threadVerdicts } from "../analysis/thread-entries.js";
import { parseVersionData } from "../model/version-data-schema.js";
import { waitCandidates } from "../analysis/blocked-sites.js";
import { abiPrelude, libcExports, gcc, readSizeProbes, RUNTIME_INCLUDE, undefinedSymbols, weakenReferences } from "../compile/toolchain.js";
import { rewriteUnit, type RewriteContext, type WrappedType } from "../compile/rewrite-unit.js";
import { buildVersionData, digestOf, staticSymbol } from "../compile/version-data-builder.js";
import { roomExpr, roomFor } from "../compile/room.js";
import { diffVersions, type PatchPlan } from "./diff-versions.js";
import { generateTransformerFile, readTransformerFile, stepsOf, dataStruct, type TransformerSection } from "./transformers.js";
import { isReadOnly, stateSymbol, stateTransformer, stepFunction, stepSymbol } from "./step-functions.js";
import { loadTimeRefusals } from "./load-time-code.js";
import { descriptorReferences, descriptorUnit, type PatchImport } from "./descriptor.js";
import { implSymbol } from "./symbols.js";
import { readableView } from "./readable.js";
import type { AstNode } from "../cfront/clang-ast.js";
import type { TranslationUnit } from "../cfront/translation-unit.js";
import { directCallees, inheritDirectFunctions } from "../compile/direct-calls.js";
import { readySandbox, runTool } from "../compile/sandbox.js";


export interface PatchOptions {
  /** Directory holding NAME.vd.json (the running build or the previous patch), or the file itself. */
  from: string;
  files: string[];
  outDir: string;
  cflags?: string[];
  ldflags?: string[];
  /** Edited transformers replacing the generated ones. */
  xformFile?: string;
  cwd?: string;
  onProgress?: (msg: string) => void;
}

function describeThreadPoints(t: ThreadVerdict): string {
  const safe = t.points.filter((p) => p.safe).map((p) => p.id);
  const idle = t.blockedInEntry?.safe ? `, or be waiting in a call made from ${t.entry}() (poll, accept, read...)` : "";
  if (!safe.length && idle) return `no update point, but it may be waiting in a call made from ${t.entry}() (poll, accept, read...)`;
  if (!safe.length) return t.points.length ? "none is safe for this patch: it will be refused at its timeout" : "it reaches no update point: the update will be refused at its timeout";
  return `point${safe.length === 1 ? "" : "s"} ${safe.join(", ")}${idle}`;
}

export interface PatchResult {
  patchDir: string;
  manifest: PatchManifest;
  versionData: VersionData;
  diagnostics: Diagnostic[];
}

function readXform(file: string): string {
  try {
    return readInputFile(file, INPUT_LIMITS.source).bytes.toString("utf8");
  } catch (e) {
    throw new GraftError(`--xform ${file}: ${(e as Error).message}`, [{ code: 6005, category: "error", file, message: `--xform: ${(e as Error).message}` }], 2);
  }
}

export async function loadVersionData(from: string): Promise<{ vd: VersionData; path: string }> {
  let file = from;
  if (!from.endsWith(".json")) {
    const names = (await readdir(from).catch(() => { throw new GraftError(`--from ${from}: no such directory`, [{ code: 4010, category: "error", file: from, message: "no such directory" }], 2); }))
      .filter((n) => n.endsWith(".vd.json"));
    if (names.length !== 1) throw new GraftError(`--from ${from}: expected exactly one NAME.vd.json, found ${names.length}`, [{ code: 4011, category: "error", file: from, message: `expected exactly one NAME.vd.json, found ${names.length}` }], 2);
    file = path.join(from, names[0]);
  }
  let json: unknown;
  try {
    json = JSON.parse(readInputFile(file, INPUT_LIMITS.versionData).bytes.toString("utf8"));
  } catch (e) {
    throw new GraftError(`${file}: cannot read version data`, [{ code: 4012, category: "error", file, message: String((e as Error).message) }], 2);
  }
  const vd = parseVersionData(json, file);
  checkIntact(json as VersionData, file);
  return { vd, path: file };
}

/**
 * Version data is what the running program was built from: a file edited by
 * hand (its digest no longer over its content: other sources, layouts or
 * symbols) would make a patch for another program than the one running.
 */
function checkIntact(raw: VersionData, file: string): void {
  // Over the object as written (before the schema's parse, which may reorder or drop keys), as compile and patch computed it.
  if (digestOf(raw) === raw.digest) return;
  const message = "its digest does not match its content: it was changed after it was written; use the file graft compile or graft patch wrote";
  throw new GraftError(`${file}: ${message}`, [{ code: 4012, category: "error", file, message }], 2);
}

/** Reads `/* graft: default EXPR *\/` comments on the fields of a struct in the new source. */
async function fieldDefaults(cwd: string, file: string, fields: { name: string; line: number }[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const lines = (await readFile(path.resolve(cwd, file), "utf8").catch(() => "")).split("\n");
  for (const f of fields) {
    const m = /\/\*\s*graft:\s*default\s+(.+?)\s*\*\//.exec(lines[f.line - 1] ?? "");
    if (m) out.set(f.name, m[1]);
  }
  return out;
}

/** The data struct's body laid out by Graft (fields by `__typeof__` of their spelling), when the plan orders the fields. */
function dataBodyOf(plan: PatchPlan, key: string): string | undefined {
  const order = plan.types.get(key)?.order;
  return order ? `{ ${order.map((f) => `__typeof__(${f.type}) ${f.name};`).join(" ")} }` : undefined;
}

export async function generatePatch(opts: PatchOptions): Promise<PatchResult> {
  readySandbox();
  const cwd = path.resolve(opts.cwd ?? process.cwd());
  const outDir = path.resolve(cwd, opts.outDir);
  const buildDir = path.join(outDir, "build");
  const cflags = opts.cflags ?? [];
  const progress = opts.onProgress ?? (() => {});
  const { vd: old, path: oldPath } = await loadVersionData(path.resolve(cwd, opts.from));
  await rm(buildDir, { recursive: true, force: true });
  await mkdir(buildDir, { recursive: true });

  // ---- parse the next version and draft its version data -------------------
  const previous = { functions: old.functions.map((f) => ({ uname: f.uname, name: f.name, file: f.file, isStatic: f.isStatic })) };
  const program = await parseProgram({ files: opts.files, cflags, cwd, workDir: buildDir, onProgress: progress, previous });
  const facts = collectFacts(program, await libcExports());
  const draftWrapped = new Map<string, WrappedType>();
  for (const [key, defs] of program.types) if (!facts.fixed.has(key) && defs[0].rec.kind === "struct") {
    draftWrapped.set(key, { key, spelling: defs[0].rec.spelling, version: 0, roomExpr: "", outOfLine: false });
  }
  const draftIds = new Map<unknown, number>();
  let n = 1;
  for (const tu of program.units) for (const p of tu.updatePoints) draftIds.set(p.call, n++);
  // Functions the running program calls directly stay direct: they have no slot to switch.
  const { direct, refusals: directRefusals } = inheritDirectFunctions(old, program, facts);
  const candidates = waitCandidates(facts, program.units, direct, await libcExports());
  const draft = await buildVersionData({ name: old.program, program, facts, wrapped: draftWrapped, pointIds: draftIds, sizes: new Map(), cflags, cwd, rooms: {}, direct, waitCandidates: candidates });

  // ---- correlate and compare; after this point we only read the plan -----
  const plan = diffVersions(old, draft);
  plan.warnings.push(...program.identityNotes);
  plan.refusals.push(...directRefusals, ...loadTimeRefusals(plan, program));
  for (const f of plan.functions.values()) if (f.status !== "same") progress(`${f.status} function: ${f.name}${f.note ? ` (${f.note})` : ""}`);
  for (const t of plan.types.values()) if (t.status !== "same") progress(`${t.status} type: ${t.spelling}`);
  for (const g of plan.globals.values()) if (g.status !== "same") progress(`${g.status} global: ${g.name}`);
  if (plan.refusals.length) {
    throw new GraftError(`${plan.refusals.length} unsupported change(s): the patch cannot be made`, plan.refusals, 2);
  }
  const seq = plan.sequence;
  const included = [...plan.functions.values()].filter((f) => f.include);
  const changedTypes = [...plan.types.values()].filter((t) => t.status === "changed");
  if (!included.length && !changedTypes.length && ![...plan.globals.values()].some((g) => g.status === "added")) {
    throw new GraftError("no change: the new sources compile to the running version", [{ code: 4000, category: "info", message: "no change to apply" }], 3);
  }

  // ---- transformers: generated, or the reviewer's edited file --------------
  const steps = stepsOf(plan.types.values(), () => new Map());
  for (const s of steps) {
    const def = program.types.get(s.key)?.[0];
    if (def) s.defaults = await fieldDefaults(cwd, def.rec.pos.file, def.rec.fields);
  }
  // A new pointer field of values that already exist starts NULL: the new code may expect what its constructor allocates.
  if (!opts.xformFile) for (const s of steps) {
    const olds = new Set(s.oldFields.map((f) => f.name));
    const pointers = s.newFields.filter((f) => !olds.has(f.name) && f.type.includes("*") && !s.defaults.has(f.name)).map((f) => f.name);
    if (pointers.length) {
      plan.warnings.push(`${s.spelling} gains pointer field(s) ${pointers.join(", ")}: the generated transformer leaves them NULL in values that already exist; if the new code expects what its constructor sets up (memcached 1.2.4's conn.suffixlist), write it in xform.c`);
    }
  }
  const generated = generateTransformerFile(old.program, old.sequence, steps);
  const xformText = opts.xformFile ? readXform(path.resolve(cwd, opts.xformFile)) : generated;
  const xformPath = path.join(outDir, "xform.c");
  const read = readTransformerFile(xformText, opts.xformFile ?? xformPath, steps);
  if (read.diagnostics.length) throw new GraftError("the transformers do not match the patch", read.diagnostics, 2);

  // ---- rewrite, build; a type that outgrows its room moves out of line -----
  // Data that an earlier patch moved out of line stays there, whether this patch changes its type or not.
  const outOfLine = new Set([...plan.types.values()].filter((t) => t.wrapped && t.old?.versions.at(-1)?.outOfLine).map((t) => t.key));
  let built = await buildPatchObjects({ old, plan, program, facts, direct, candidates, outOfLine, sections: read.sections, buildDir, cflags, cwd });
  const grew = changedTypes.filter((t) => !outOfLine.has(t.key) && (built.sizes.get(t.key) ?? 0) > (t.old?.roomBytes ?? Infinity));
  // Out-of-line data has one owner: a whole-value copy in the new code would share it, and a free would leave the copy dangling.
  const shared = [...new Set([...outOfLine, ...grew.map((t) => t.key)])].filter((k) => facts.copies.has(k));
  if (shared.length) {
    throw new GraftError(`${shared.length} type(s) out of line but copied by value`, shared.map((k) => {
      const c = facts.copies.get(k)!;
      const t = plan.types.get(k)!;
      return { code: 4008, category: "error" as const, file: c.site.pos.file, line: c.site.pos.line,
        message: `${t.spelling} ${outOfLine.has(k) ? "is" : `outgrows its room (${built.sizes.get(k)} > ${t.old?.roomBytes} bytes) and would be`} out of line, but the new code copies its values whole (${c.what}): the copy would share the moved data with the original. Copy the fields one by one, or rebuild the running version with more room (--room ${k}=N)` };
    }), 2);
  }
  const pinnedInLine = grew.filter((t) => t.old?.escapingFields?.length);
  if (pinnedInLine.length) {
    throw new GraftError(`${pinnedInLine.length} type(s) outgrow their room but cannot move`, pinnedInLine.map((t) => {
      const e = t.old!.escapingFields![0];
      return { code: 4007, category: "error" as const, file: t.next?.file, line: t.next?.line,
        message: `${t.spelling} outgrows its room (${built.sizes.get(t.key)} > ${t.old?.roomBytes} bytes), but its data cannot move out of line: the running program keeps the address of its field '${e.field}' (${e.file}:${e.line}: ${e.what}). Rebuild the running version with more room (--room ${t.key}=N)` };
    }), 2);
  }
  if (grew.length) {
    for (const t of grew) { outOfLine.add(t.key); progress(`${t.spelling} outgrows its room (${built.sizes.get(t.key)} > ${t.old?.roomBytes} bytes): its data moves out of line`); }
    built = await buildPatchObjects({ old, plan, program, facts, direct, candidates, outOfLine, sections: read.sections, buildDir, cflags, cwd });
  }

  // ---- the next version's data -------------------------------------------
  const next: VersionData = structuredClone(draft);
  if (old.exeSymbols) next.exeSymbols = old.exeSymbols;
  next.sequence = seq;
  next.previous = old.digest;
  next.patches = [...old.patches, path.join(outDir, "patch.so")];
  const oldFns = new Map(old.functions.map((f) => [f.uname, f]));
  for (const f of next.functions) {
    const c = plan.functions.get(f.uname)!;
    // A direct function has no implementation of its own to switch to: it lives in its callers.
    f.impl = c.include && !f.direct ? implSymbol(f.uname, seq) : oldFns.get(f.uname)?.impl ?? f.impl;
  }
  for (const t of next.types) {
    const c = plan.types.get(t.key)!;
    t.wrapped = c.wrapped;
    // Pointers the old versions kept are still in memory: their fields stay pinned for every later patch.
    const escaping = [...(c.old?.escapingFields ?? []), ...(t.escapingFields ?? []).filter((e) => !c.old?.escapingFields?.some((o) => o.field === e.field))];
    if (escaping.length) t.escapingFields = escaping;
    if (!c.wrapped) { t.versions = []; delete t.roomBytes; continue; }
    const ordered = dataBodyOf(plan, t.key);
    const body = ordered ? `${ordered};` : t.versions[0]?.definition.replace(/^struct __graft_d_\w+_v0 /, "") ?? "";
    const size = built.sizes.get(t.key) ?? 0;
    if (c.old) {
      t.version = c.to ?? c.old.version;
      t.roomBytes = c.old.roomBytes;
      t.wrapperSize = c.old.wrapperSize;
      t.versions = [...c.old.versions];
      if (c.status === "changed") t.versions.push({ version: t.version, definition: `${dataStruct(t.key, t.version)} ${body}`, fields: t.fields, dataSize: size, outOfLine: outOfLine.has(t.key) });
    } else {
      t.version = 0;
      t.roomBytes = roomFor(size);
      t.versions = [{ version: 0, definition: `${dataStruct(t.key, 0)} ${body}`, fields: t.fields, dataSize: size, outOfLine: false }];
    }
  }
  const oldGlobals = new Map(old.globals.map((g) => [g.id, g]));
  for (const g of next.globals) {
    g.symbol = plan.globals.get(g.id)?.symbol ?? g.symbol;
    // An address an old version kept is still in memory: the storage stays pinned for every later patch.
    const kept = oldGlobals.get(g.id)?.addressKept;
    if (kept && !g.addressKept) g.addressKept = kept;
  }
  for (const f of next.functions) if (f.extractedFrom) f.env = built.envFields.get(f.uname) ?? [];
  // The running holder builds the old environment: a new loop body must take exactly the same locals.
  const oldEnv = new Map(old.functions.filter((f) => f.env).map((f) => [f.uname, f.env!]));
  const envRefusals = next.functions.filter((f) => f.env && oldEnv.has(f.uname) && plan.functions.get(f.uname)?.include && JSON.stringify(oldEnv.get(f.uname)) !== JSON.stringify(f.env))
    .map((f) => ({ code: 4003, category: "error" as const, file: f.file, line: f.line, message: `the loop body extracted from ${f.extractedFrom}() now uses the locals [${f.env!.join(", ")}], but the running ${f.extractedFrom}() passes [${oldEnv.get(f.uname)!.join(", ")}]: declare new state inside the loop body or as a global` }));
  if (envRefusals.length) throw new GraftError(`${envRefusals.length} unsupported change(s): the patch cannot be made`, envRefusals, 2);
  const idByDraft = new Map([...draftIds].map(([call, id]) => [id, built.pointIds.get(call as AstNode)!]));
  for (const p of next.updatePoints) p.id = idByDraft.get(p.id) ?? p.id;
  next.threads = threadPoints(facts, next.updatePoints);
  next.digest = digestOf(next);

  // ---- descriptor and link -------------------------------------------------
  const descInput = {
    old, next, plan, seq,
    stateFunctions: built.stateFunctions,
    steps: changedTypes.map((t) => ({ key: t.key, from: t.from!, symbol: stepSymbol(t.key, t.from!) })),
    newTypes: [...plan.types.values()].filter((t) => t.status === "added" && t.wrapped).map((t) => ({ key: t.key, spelling: t.spelling })),
    hasInit: plan.functions.get("graft_patch_init")?.include ? implSymbol("graft_patch_init", seq) : undefined,
    setup: plan.setup.map((u) => implSymbol(u, seq)),
  };
  const imports = await importsOf(old, built.objects, descriptorReferences(descInput));
  const desc = descriptorUnit(descInput, imports);
  const descPath = path.join(buildDir, "graft-patch-descriptor.c");
  await writeFile(descPath, desc);
  const descObj = path.join(buildDir, "graft-patch-descriptor.o");
  await gcc(["-c", "-fPIC", "-O2", "-Wall", "-I", RUNTIME_INCLUDE, descPath, "-o", descObj], cwd, "the patch descriptor", 4020);
  await weakenReferences([...built.objects, descObj], imports.map((i) => i.name), path.join(buildDir, "imports.list"));
  const soPath = path.join(outDir, "patch.so");
  const script = path.join(buildDir, "graft-text.ld");
  await writeFile(script, linkerScript(built.sectioned));
  await gcc(["-shared", "-fPIC", `-Wl,-T,${script}`, "-o", soPath, ...built.objects, descObj, ...(opts.ldflags ?? [])], cwd, "linking patch.so", 4021);

  // ---- write the patch directory --------------------------------------------
  const manifest: PatchManifest = {
    format: "graft-patch/1", program: old.program, base: old.digest, target: next.digest, sequence: seq, createdAt: new Date().toISOString(),
    functions: [...plan.functions.values()].map(({ include: _i, ...f }) => f),
    types: [...plan.types.values()].map(({ wrapped: _w, old: _o, next: _n, ...t }) => ({ ...t, ...(outOfLine.has(t.key) ? { outOfLine: true } : {}) })),
    globals: [...plan.globals.values()].map(({ oldSymbol: _s, ...g }) => g),
    safety: plan.safety,
    ...(old.threads ? { threads: threadVerdicts(old.threads, plan.safety, plan.blockedSafety) } : {}),
    transformers: steps.map((s) => ({ type: s.key, from: s.from, to: s.to, function: `graft_xform_${s.key}_${s.from}_${s.to}` })),
    warnings: [...plan.warnings, ...built.warnings],
  };
  for (const w of manifest.warnings) progress(`warning: ${w}`);
  for (const s of plan.safety) progress(`update point ${s.id} (${s.file}:${s.line} in ${s.function}): ${s.safe ? "safe" : s.reasons.join("; ")}`);
  for (const t of manifest.threads ?? []) progress(`thread ${t.entry} (${t.file}:${t.line}) must wait at one of: ${describeThreadPoints(t)}`);
  await writeFile(xformPath, xformText);
  await writeFile(path.join(outDir, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
  await writeFile(path.join(outDir, `${old.program}.vd.json`), JSON.stringify(next, null, 2) + "\n");
  await writeFile(path.join(outDir, "patch.c"), readableView(built.unitTexts, desc, manifest));
  await writeFile(path.join(buildDir, "check.json"), JSON.stringify({ units: built.unitFiles, placement: built.placement, cflags: built.compileFlags }, null, 2));
  if (path.resolve(oldPath) !== path.resolve(outDir, `${old.program}.vd.json`)) await copyFile(oldPath, path.join(buildDir, "base.vd.json"));
  return { patchDir: outDir, manifest, versionData: next, diagnostics: [] };
}

/**
 * The executable's symbols the patch references, with their index in its
 * `__graft_symtab`; sorted by name as the runtime's binary search expects (the
 * names are ASCII: code-unit order is strcmp's). Symbols of earlier patches are not
 * in the table: they stay ordinary references, bound by name.
 */
async function importsOf(old: VersionData, objects: string[], descriptorRefs: string[]): Promise<PatchImport[]> {
  if (!old.exeSymbols) return [];
  const index = new Map(old.exeSymbols.map((s, i) => [s, i]));
  const used = new Set([...await undefinedSymbols(objects), ...descriptorRefs]);
  return [...used].filter((s) => index.has(s)).sort().map((name) => ({ name, index: index.get(name)! }));
}

interface BuildInput {
  old: VersionData;
  plan: PatchPlan;
  program: Awaited<ReturnType<typeof parseProgram>>;
  facts: ReturnType<typeof collectFacts>;
  direct: ReadonlySet<string>;
  /** Functions a waiting thread may be in (blocked-sites.ts). */
  candidates: ReadonlySet<string>;
  outOfLine: Set<string>;
  sections: TransformerSection[];
  buildDir: string;
  cflags: string[];
  cwd: string;
}

interface BuiltObjects {
  envFields: Map<string, string[]>;
  /** Functions the patch's units put in sections of their own (function-sections.ts), in unit order. */
  sectioned: string[];
  objects: string[];
  sizes: Map<string, number>;
  pointIds: Map<AstNode, number>;
  stateFunctions: string[];
  warnings: string[];
  unitTexts: string[];
  /** Units without transformer sections, and where each section goes: what `checkTransformers` recompiles. */
  unitFiles: string[];
  placement: Record<string, number>;
  compileFlags: string[];
}

async function buildPatchObjects(b: BuildInput): Promise<BuiltObjects> {
  const { old, plan, program, facts, direct, candidates } = b;
  // Patch code calls direct functions by name: it carries a copy of each it reaches, changed or not.
  const included = [...plan.functions.values()].filter((f) => f.include).map((f) => f.uname);
  const copies = directCallees(facts, direct, included);
  for (const u of included) if (direct.has(u)) copies.add(u);
  const seq = plan.sequence;
  const warnings: string[] = [];

  const wrapped = new Map<string, WrappedType>();
  for (const t of plan.types.values()) {
    if (!t.wrapped || t.status === "removed") continue;
    const spelling = t.next?.spelling ?? t.spelling;
    wrapped.set(t.key, t.old
      ? { key: t.key, spelling, version: t.to!, roomExpr: `${t.old.roomBytes}ul`, outOfLine: b.outOfLine.has(t.key),
        oolSince: t.old.versions.find((v) => v.outOfLine)?.version ?? t.to! }
      : { key: t.key, spelling, version: 0, roomExpr: roomExpr(`sizeof(${dataStruct(t.key, 0)})`), outOfLine: false });
  }

  // Points in code that is replaced get fresh ids; points in code that stays keep the running ids.
  const pointIds = new Map<AstNode, number>();
  let nextId = Math.max(0, ...old.updatePoints.map((p) => p.id)) + 1;
  for (const tu of program.units) {
    const ordinal = new Map<string, number>();
    for (const p of tu.updatePoints) {
      const u = p.fn.name === "main" ? "main" : unameOf(p.fn, tu);
      const k = (ordinal.get(u) ?? 0) + 1;
      ordinal.set(u, k);
      const replaced = plan.functions.get(u)?.include;
      const olds = old.updatePoints.filter((q) => (q.uname ?? q.function) === u);
      pointIds.set(p.call, !replaced && olds[k - 1] ? olds[k - 1].id : nextId++);
    }
  }

  const symbolOf = (tu: Parameters<RewriteContext["globalSymbol"]>[0], g: Parameters<RewriteContext["globalSymbol"]>[1]) => {
    const id = g.isStatic ? staticSymbol(tu, g) : g.name;
    return plan.globals.get(id)?.symbol ?? id;
  };
  const ctx: RewriteContext = {
    mode: "patch", program, facts, wrapped, pointIds,
    globalSymbol: symbolOf,
    externSymbol: (name) => plan.globals.get(name)?.symbol,
    isExistingGlobal: (tu, g) => plan.globals.get(g.isStatic ? staticSymbol(tu, g) : g.name)?.status === "same",
    planFunction: (_tu, fn, u) => (fn.name === "main" ? { kind: "drop" }
      : direct.has(u) ? (copies.has(u) ? { kind: "copy" } : { kind: "drop" })
      : plan.functions.get(u)?.include ? { kind: "impl", symbol: implSymbol(u, seq) } : { kind: "drop" }),
    isDirect: (u) => direct.has(u),
    isWaitCandidate: (u) => candidates.has(u),
    isNewFunction: (u) => plan.functions.get(u)?.status === "added",
    dataName: (key) => `__graft_d_${key}_v${wrapped.get(key)?.version ?? 0}`,
    dataBody: (key) => dataBodyOf(plan, key),
  };

  const prelude = await abiPrelude();
  const placement: Record<string, number> = {};
  const stateFunctions: string[] = [];
  const unitTexts: string[] = [], unitFiles: string[] = [], objects: string[] = [];
  const envFields = new Map<string, string[]>();
  // By unit, in unit order: the link keeps the functions in the order of the sources.
  const sectionedByUnit: string[][] = [];
  const optFlags = [...b.cflags.filter((f) => !/^-(D|U|I|include)/.test(f)), "-fPIC", "-fno-strict-aliasing"];

  // Units go to gcc a few at a time. What each job does before its first
  // await runs in unit order, so the placement of transformers is that order.
  await mapConcurrent(program.units, COMPILER_JOBS, async (tu, i) => {
    const r = rewriteUnit(tu, ctx, prelude);
    if (r.diagnostics.length) throw new GraftError(`${tu.source}: cannot rewrite for the patch`, r.diagnostics, 2);
    for (const [u, f] of r.envFields) envFields.set(u, f);
    sectionedByUnit[i] = r.sectioned;
    let tail = "";
    let xforms = "";
    const stepKeys: string[] = [];
    for (const t of plan.types.values()) {
      if (t.status !== "changed" || placement[t.key] !== undefined || !tu.records.some((rec) => rec.key === t.key)) continue;
      placement[t.key] = i;
      const oldDef = t.old!.versions.find((v) => v.version === t.from)?.definition ?? "";
      tail += `\n/* ---- graft: ${t.spelling} as the running program lays it out (version ${t.from}) ---- */\n${oldDef}\n`;
      // Static: every patch has its probes, and patches share one symbol namespace (RTLD_GLOBAL).
      tail += `static char __graft_size_d_${t.key}[sizeof(${dataStruct(t.key, t.to!)})] __attribute__((used));\n`;
      const sec = b.sections.find((s) => s.key === t.key);
      if (sec) xforms += `# ${sec.line} "xform.c"\n${sec.code}\n`;
      stepKeys.push(t.key);
    }
    // State transformers live in the unit that defines the global's new storage.
    for (const g of [...tu.globals, ...tu.staticLocals]) {
      const c = plan.globals.get(g.isStatic ? staticSymbol(tu, g) : g.name);
      if (c?.status !== "retyped" || isReadOnly(c.newType ?? "")) continue;
      const oldCanon = b.old.globals.find((o) => o.id === c.id)?.canon;
      const st = stateTransformer({ name: g.name, oldSymbol: c.oldSymbol!, oldType: c.oldType!, newSymbol: c.symbol!, newType: c.newType!, oldCanon, newCanon: g.canon });
      if (st) { tail += st; stateFunctions.push(stateSymbol(c.symbol!)); }
      else warnings.push(`global ${g.name} changed type (${c.oldType} -> ${c.newType}) and has no automatic conversion: its new storage starts as the source initialises it`);
    }
    const steps = stepKeys.map((key) => {
      const t = plan.types.get(key)!;
      return `# 1 "<graft-step>"\n` + stepFunction({ key, spelling: wrapped.get(key)!.spelling, from: t.from!, to: t.to!, oldOutOfLine: !!t.old?.versions.find((v) => v.version === t.from)?.outOfLine, newOutOfLine: b.outOfLine.has(key) });
    }).join("");
    const base = path.basename(tu.source).replace(/\.c$/, "");
    const withoutX = path.join(b.buildDir, `${i}-${base}.patch.noxform.i`);
    const full = path.join(b.buildDir, `${i}-${base}.patch.i`);
    // Transformers go between the old layouts and the steps that call them; the check recompiles the unit with an edited copy there.
    await writeFile(withoutX, `${r.text}${tail}#XFORMS\n${steps}`);
    await writeFile(full, `${r.text}${tail}${xforms}${steps}`);
    unitTexts[i] = r.text;
    unitFiles[i] = withoutX;
    // A unit whose code is all unchanged only declares what the running program has: nothing to compile.
    if (!tail && !steps && !unitDefines(tu, ctx)) return;
    const obj = path.join(b.buildDir, `${i}-${base}.o`);
    try {
      await gcc(["-c", ...optFlags, full, "-o", obj], b.cwd, tu.source, 4022);
    } catch (e) {
      // An edited transformer that does not compile: gcc's words, on lines of xform.c.
      const x = e instanceof GraftError ? xformDiagnostics(e.diagnostics.map((d) => d.message).join("\n")) : [];
      if (x.length) throw new GraftError("the transformers do not compile", x, 2);
      throw e;
    }
    objects[i] = obj;
  });

  const built = objects.filter((o) => o !== undefined);
  const sizes = new Map([...(await readSizeProbes(built))].map(([k, v]) => [k, v.data]));
  return { envFields, sectioned: sectionedByUnit.flat(), objects: built, sizes, pointIds, stateFunctions, warnings, unitTexts, unitFiles, placement, compileFlags: optFlags };
}

/**
 * Whether the patch's rewrite of a unit defines anything: a function it
 * carries (new code, or a copy for its own direct calls), storage the running
 * program does not have, or file-scope assembly. main's unit always counts.
 * The same questions, in the same order, as rewriteUnit asks.
 */
function unitDefines(tu: TranslationUnit, ctx: RewriteContext): boolean {
  for (const fn of tu.functions) {
    if (fn.name === "main") return true;
    const u = unameOf(fn, tu);
    if (ctx.program.functions.get(u)?.fn !== fn) continue;
    if (ctx.planFunction(tu, fn, u).kind !== "drop") return true;
  }
  if ([...tu.globals, ...tu.staticLocals].some((g) => !ctx.isExistingGlobal(tu, g))) return true;
  return (tu.root.inner ?? []).some((d) => d.kind === "FileScopeAsmDecl");
}

function xformDiagnostics(stderr: string): Diagnostic[] {
  return [...stderr.matchAll(/^xform\.c:(\d+):(\d+): (error|warning): (.*)$/gm)].map((m) => ({
    code: 4110, category: m[3] === "error" ? "error" as const : "warning" as const, file: "xform.c", line: Number(m[1]), column: Number(m[2]), message: m[4],
  }));
}

/**
 * Compiles edited transformers against a generated patch, as `--xform` would,
 * and returns gcc's diagnostics with lines of xform.c.
 */
export async function checkTransformers(opts: { patchDir: string; xformSource: string }): Promise<Diagnostic[]> {
  const buildDir = path.join(opts.patchDir, "build");
  const manifest = JSON.parse(await readFile(path.join(opts.patchDir, "manifest.json"), "utf8")) as PatchManifest;
  const check = JSON.parse(await readFile(path.join(buildDir, "check.json"), "utf8")) as { units: string[]; placement: Record<string, number>; cflags: string[] };
  const read = readTransformerFile(opts.xformSource, "xform.c", manifest.transformers.map((t) => ({ key: t.type, from: t.from, to: t.to })));
  if (read.diagnostics.length) return read.diagnostics;
  const out: Diagnostic[] = [];
  for (const [i, unit] of check.units.entries()) {
    const secs = read.sections.filter((s) => check.placement[s.key] === i);
    if (!secs.length) continue;
    const text = (await readFile(unit, "utf8")).replace("#XFORMS\n", secs.map((s) => `# ${s.line} "xform.c"\n${s.code}\n`).join(""));
    const tmp = unit.replace(/\.noxform\.i$/, ".check.i");
    await writeFile(tmp, text);
    try {
      await runTool("gcc", ["-fsyntax-only", ...check.cflags, "-Wall", tmp], { maxBuffer: 16 << 20 });
    } catch (e) {
      const stderr = String((e as { stderr?: string }).stderr ?? "");
      out.push(...xformDiagnostics(stderr));
      if (!out.length) out.push({ code: 4111, category: "error", file: "xform.c", line: 1, message: stderr.trim().split("\n").slice(0, 5).join("\n") });
    }
  }
  return out;
}
