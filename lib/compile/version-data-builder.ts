/** Builds the version data (`NAME.vd.json`) of a build from the program model and the analysis facts. */
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Program } from "../cfront/program.js";
import { unameOf } from "../cfront/program.js";
import { sha256, type TranslationUnit, type TuGlobal } from "../cfront/translation-unit.js";
import type { ProgramFacts } from "../analysis/facts.js";
import { analysePoint, continuations } from "../analysis/safety.js";
import { blockingSites } from "../analysis/blocked-sites.js";
import { VERSION_DATA_FORMAT, type VdFunction, type VdGlobal, type VdType, type VdUpdatePoint, type VersionData } from "../model/version-data.js";
import type { WrappedType } from "./rewrite-unit.js";
import { roomFor } from "./room.js";

/** Program-unique symbol of a static global or static local, stable across versions (file, function, name). */
export function staticSymbol(tu: TranslationUnit, g: TuGlobal): string {
  return g.fn ? `__graft_sl_${tu.stem}__${g.fn.name}__${g.name}` : `__graft_s_${tu.stem}__${g.name}`;
}

export function digestOf(vd: VersionData): string {
  return sha256(JSON.stringify({ ...vd, digest: "" }));
}


export interface BuildVdInput {
  name: string;
  program: Program;
  facts: ProgramFacts;
  wrapped: Map<string, WrappedType>;
  pointIds: Map<unknown, number>;
  sizes: Map<string, { data: number; wrapper: number }>;
  cflags: string[];
  cwd: string;
  rooms: Record<string, number>;
  /** Locals passed to each extracted loop body, from the rewrite. */
  envFields?: Map<string, string[]>;
  /** Functions called directly, without a slot (direct-calls.ts). */
  direct?: ReadonlySet<string>;
  /** Functions a waiting thread may be in (blocked-sites.ts, waitCandidates): each gets a blocking site. */
  waitCandidates?: ReadonlySet<string>;
}

export async function buildVersionData(i: BuildVdInput): Promise<VersionData> {
  const sources = new Map<string, string[]>();
  const linesOf = async (file: string) => {
    if (!sources.has(file)) {
      try { sources.set(file, (await readFile(path.resolve(i.cwd, file), "utf8")).split("\n")); } catch { sources.set(file, []); }
    }
    return sources.get(file)!;
  };

  const functions: VdFunction[] = [];
  const entries = [...i.program.functions].map(([uname, { fn, tu }]) => ({ uname, fn, tu, ff: i.facts.functions.get(uname)! }));
  // main is recorded too, so that a patch can say its change cannot be applied.
  for (const ff of i.facts.mains) entries.push({ uname: "main", fn: ff.fn, tu: ff.tu, ff });
  for (const { uname, fn, tu, ff } of entries) {
    const lines = await linesOf(fn.pos.file);
    const source = lines.slice(fn.pos.line - 1, fn.endLine).join("\n");
    functions.push({
      name: fn.name, uname, file: fn.pos.file, line: fn.pos.line, endLine: fn.endLine, isStatic: fn.isStatic,
      variadic: fn.variadic, signature: fn.signature, canonicalSignature: fn.canonicalSignature, fingerprint: fn.fingerprint,
      stableFingerprint: fn.stableFingerprint, source,
      impl: fn.name, slot: uname === "main" || i.direct?.has(uname) ? "" : `__graft_fp_${uname}`, ...(i.direct?.has(uname) ? { direct: true } : {}),
      addressTaken: i.facts.addressTaken.has(uname),
      ...(i.facts.pinned.has(uname) ? { pinned: `${i.facts.pinned.get(uname)!.pos.file}:${i.facts.pinned.get(uname)!.pos.line}` } : {}),
      calls: [...ff.calls.keys()].sort(), typesUsed: [...ff.typeUses.keys()].sort(), globalsUsed: [...ff.globalUses.keys()].sort(),
      hasUpdatePoint: tu.updatePoints.some((p) => p.fn === fn),
      ...(fn.extracted ? { extractedFrom: fn.extracted.holder.name, env: i.envFields?.get(uname) ?? [] } : {}),
    });
  }

  const types: VdType[] = [];
  for (const [key, defs] of i.program.types) {
    const { rec, tu } = defs[0];
    const w = i.wrapped.get(key);
    const fixed = i.facts.fixed.get(key);
    const size = i.sizes.get(key);
    const escaping = (i.facts.escapingFields.get(key) ?? []).map((e) => ({ field: e.field, file: e.site.pos.file, line: e.site.pos.line, what: e.what }));
    const raw = (a: number, b: number) => tu.text.subarray(a, b).toString("utf8");
    // As the rewrite defines the data: without a flexible array member, which stays in the wrapper.
    const body = rec.flexible ? `${raw(rec.openBrace, rec.flexible.range[0])} ${raw(rec.flexible.range[1], rec.closeBrace + 1)}` : raw(rec.openBrace, rec.closeBrace + 1);
    types.push({
      key, kind: rec.kind, spelling: rec.spelling, file: rec.pos.file, line: rec.pos.line, wrapped: !!w,
      ...(fixed ? { fixed: { reason: `${rec.spelling} ${fixed.reason}`, file: fixed.pos.file, line: fixed.pos.line } } : {}),
      ...(escaping.length ? { escapingFields: escaping } : {}),
      ...(rec.flexible ? { flexible: { name: rec.flexible.name, type: rec.flexible.type } } : {}),
      fields: rec.fields.map(({ name, type, canon }) => ({ name, type, canon })), version: 0,
      ...(w && size ? { roomBytes: roomFor(size.data, i.rooms[key]), wrapperSize: size.wrapper } : {}),
      versions: w ? [{ version: 0, definition: `struct __graft_d_${key}_v0 ${rec.dataBody ?? body};`, fields: rec.fields.map(({ name, type, canon }) => ({ name, type, canon })), dataSize: size?.data ?? 0, outOfLine: false }] : [],
    });
  }

  const globals: VdGlobal[] = [];
  const seen = new Set<string>();
  for (const tu of i.program.units) {
    for (const g of [...tu.globals, ...tu.staticLocals]) {
      const symbol = g.isStatic ? staticSymbol(tu, g) : g.name;
      if (seen.has(symbol)) continue;
      seen.add(symbol);
      const kept = i.facts.keptGlobals.get(symbol);
      globals.push({
        name: g.name, id: symbol, symbol, file: g.pos.file, line: g.pos.line, type: g.type, canon: g.canon, isStatic: g.isStatic,
        ...(g.threadLocal ? { threadLocal: true } : {}), ...(g.fn ? { function: g.fn.name } : {}),
        ...(kept ? { addressKept: { file: kept.site.pos.file, line: kept.site.pos.line, what: kept.what } } : {}),
      });
    }
  }

  const updatePoints: VdUpdatePoint[] = [];
  const after = continuations(i.facts);
  for (const tu of i.program.units) {
    for (const p of tu.updatePoints) {
      const holder = p.fn.name === "main" ? i.facts.mains.find((m) => m.fn === p.fn) : i.facts.functions.get(unameOf(p.fn, tu));
      if (!holder) continue;
      // A restarting point leaves nothing of its body to run: only the callers' rest counts.
      const s = analysePoint(i.facts, holder, p.restarts ? p.fn.end : p.call.range?.begin.offset ?? 0, after);
      updatePoints.push({
        id: i.pointIds.get(p.call)!, file: p.pos.file, line: p.pos.line, function: p.fn.name, uname: holder.uname, restarts: !!p.restarts,
        typesUsedAfter: [...s.typesUsedAfter.keys()].sort(),
        functionsCalledAfter: [...s.functionsCalledAfter].sort(),
        globalsUsedAfter: [...s.globalsUsedAfter.keys()].sort(),
        typeUseSites: Object.fromEntries([...s.typesUsedAfter].map(([k, site]) => [k, `${site.pos.file}:${site.pos.line}`])),
        globalUseSites: Object.fromEntries([...s.globalsUsedAfter].map(([k, site]) => [k, `${site.pos.file}:${site.pos.line}`])),
      });
    }
  }

  return {
    format: VERSION_DATA_FORMAT, program: i.name, digest: "", sequence: 0,
    files: await Promise.all(i.program.units.map(async (tu) => ({ path: tu.source, sha256: sha256(await readFile(path.resolve(i.cwd, tu.source)).catch(() => Buffer.alloc(0))) }))),
    cflags: i.cflags, functions, types, globals, updatePoints, patches: [],
    blockingSites: blockingSites(i.facts, i.program.units, i.direct ?? new Set(), i.waitCandidates ?? new Set()),
  };
}
