/**
 * Parses every file of a program and joins the units: one table of program
 * functions (by program-unique name), one of named types (by key), globals.
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";

import { COMPILER_JOBS, mapConcurrent } from "./jobs.js";
import { dumpAst, preprocess } from "./clang-ast.js";
import { carryIdentities, type PreviousNames } from "./identity.js";
import { dialectOf, scanTranslationUnit, type TranslationUnit, type TuFunction, type TuRecord } from "./translation-unit.js";
import type { Diagnostic } from "../model/diagnostics.js";
import type { AstNode } from "./clang-ast.js";

export interface ProgramFunction {
  uname: string;
  fn: TuFunction;
  tu: TranslationUnit;
}

export interface Program {
  units: TranslationUnit[];
  /** uname -> definition. */
  functions: Map<string, ProgramFunction>;
  /** Type key -> definitions (one per unit that sees it). */
  types: Map<string, { rec: TuRecord; tu: TranslationUnit }[]>;
  /** Typedef name -> the type it names, as clang spells it (clang does not always desugar pointers to typedefs). */
  typedefs: Map<string, string>;
  diagnostics: Diagnostic[];
  /** External functions by their C name -> program-unique name (differs when a linkage change kept an old identity). */
  externByName: Map<string, string>;
  /** What identity.ts inferred, for the patch's warnings. */
  identityNotes: string[];
}

export interface ParseOptions {
  files: string[];
  cflags: string[];
  cwd: string;
  workDir: string;
  onProgress?: (msg: string) => void;
  /** The running version's names: renamed files and changed linkage keep their identity (identity.ts). */
  previous?: PreviousNames;
}

export async function parseProgram(opts: ParseOptions): Promise<Program> {
  await mkdir(opts.workDir, { recursive: true });
  const units: TranslationUnit[] = [];
  // Program-unique names of statics are made from each file's path below the
  // sources' common directory, so that v1 built from `v1/*.c` names its statics
  // as v0 built from `v0/*.c` did.
  const sourceRoot = commonDirectory(opts.files.map((f) => path.resolve(opts.cwd, f)));
  const dialect = dialectOf(opts.cflags);
  let done = 0;
  // clang's JSON for a unit with libc headers is a few MB: a few units at once is fine.
  const results = await mapConcurrent(opts.files, COMPILER_JOBS, async (f, i) => {
    const iPath = path.join(opts.workDir, `${i}-${path.basename(f).replace(/\.c$/, "")}.i`);
    const pre = await preprocess(f, iPath, opts.cflags, opts.cwd);
    const ast = await dumpAst(pre, opts.cwd);
    const tu = scanTranslationUnit(f, pre.text, ast, { absolute: path.resolve(opts.cwd, f), sourceRoot }, pre.stableText, dialect);
    done++;
    opts.onProgress?.(`[${done}/${opts.files.length}] parsed ${f}`);
    return tu;
  });
  units.push(...results);
  const notes = opts.previous ? carryIdentities(units, opts.previous) : [];
  for (const n of notes) opts.onProgress?.(n);
  const program = joinUnits(units);
  program.identityNotes = notes;
  return program;
}

/** The deepest directory that holds every one of these files. */
export function commonDirectory(files: string[]): string {
  if (!files.length) return "/";
  let dir = path.dirname(files[0]);
  while (!files.every((f) => f.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep))) {
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return dir;
}

export function unameOf(fn: TuFunction, tu: TranslationUnit): string {
  if (fn.identity) return fn.identity;
  return fn.isStatic ? `${tu.stem}__${fn.name}` : fn.name;
}

function joinUnits(units: TranslationUnit[]): Program {
  const program: Program = { units, functions: new Map(), types: new Map(), typedefs: new Map(), diagnostics: [], externByName: new Map(), identityNotes: [] };
  for (const tu of units) {
    for (const d of tu.root.inner ?? []) {
      if (d.kind === "TypedefDecl" && d.name && d.type?.qualType && !program.typedefs.has(d.name)) program.typedefs.set(d.name, d.type.qualType);
    }
    program.diagnostics.push(...tu.diagnostics);
    for (const fn of tu.functions) {
      if (fn.name === "main") continue;
      const uname = unameOf(fn, tu);
      const prev = program.functions.get(uname);
      // An inline-only definition yields to the external one; the first of several stands in when none exists (the rewrite makes it external).
      if (prev && !fn.isStatic && (fn.inlineOnly || prev.fn.inlineOnly)) {
        if (prev.fn.inlineOnly && !fn.inlineOnly) program.functions.set(uname, { uname, fn, tu });
        continue;
      }
      if (prev && !fn.isStatic) {
        program.diagnostics.push({ code: 1010, category: "error", file: fn.pos.file, line: fn.pos.line, message: `function '${fn.name}' is defined twice (also at ${prev.fn.pos.file}:${prev.fn.pos.line})` });
        continue;
      }
      if (prev) continue; // a static inline from a header seen by two units of the same stem cannot happen; keep the first
      program.functions.set(uname, { uname, fn, tu });
      if (!fn.isStatic) program.externByName.set(fn.name, uname);
    }
    for (const rec of tu.records) {
      const list = program.types.get(rec.key) ?? [];
      list.push({ rec, tu });
      program.types.set(rec.key, list);
    }
  }
  return program;
}

/** Resolves a clang type spelling to a program type key, if it names one directly (not through a pointer). */
export function typeKeyOf(tu: TranslationUnit, type: { qualType: string; desugaredQualType?: string } | undefined, program: Program, depth = 0): string | undefined {
  if (!type || depth > 8) return undefined;
  for (const t of [type.desugaredQualType, type.qualType]) {
    if (!t) continue;
    const bare = t.replace(/\b(const|volatile|restrict)\b/g, "").trim();
    const m = /^(?:struct|union)\s+([A-Za-z_]\w*)$/.exec(bare);
    if (m && program.types.has(m[1])) return m[1];
    if (/^[A-Za-z_]\w*$/.test(bare)) {
      // A typedef of an anonymous struct is keyed by its own name.
      const recs = program.types.get(bare);
      if (recs?.some((r) => !r.rec.node.name)) return bare;
      const under = program.typedefs.get(bare);
      if (under && under !== bare) return typeKeyOf(tu, { qualType: under }, program, depth + 1);
    }
  }
  return undefined;
}

/** Resolves the pointee of a pointer type spelling ("struct conn *") to a type key. */
export function pointeeKeyOf(tu: TranslationUnit, type: { qualType: string; desugaredQualType?: string } | undefined, program: Program): string | undefined {
  if (!type) return undefined;
  for (const t of [type.desugaredQualType, type.qualType]) {
    if (!t) continue;
    const m = /^(.*?)\s*\*\s*(const|volatile|restrict)?\s*$/.exec(t);
    if (!m) {
      // A typedef of a pointer type: `typedef struct node *node_p;`
      const under = program.typedefs.get(t.replace(/\b(const|volatile|restrict)\b/g, "").trim());
      if (under && under !== t && /\*\s*$/.test(under)) return pointeeKeyOf(tu, { qualType: under }, program);
      continue;
    }
    if (m[1].includes("*") || m[1].includes("(")) continue;
    const k = typeKeyOf(tu, { qualType: m[1] }, program);
    if (k) return k;
  }
  return undefined;
}

export type { AstNode };
