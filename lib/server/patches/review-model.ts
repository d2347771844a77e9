import "server-only";
import type { VersionData, VdFunction, VdType, VdGlobal, VdUpdatePoint } from "../../model/version-data";
import type { PatchManifest } from "../../model/patch-manifest";

/**
 * What a reviewer reads: the changes between two versions' data, and the
 * safety verdict per update point of the running (base) version. Pure
 * functions of the two `.vd.json` documents.
 */
/** lib/patch's statuses ("signature", "retyped", "caller" are kinds of change) plus "noise". */
export type ChangeStatus = "added" | "removed" | "changed" | "signature" | "retyped" | "caller" | "noise";

export interface FunctionChange {
  uname: string;
  name: string;
  file: string;
  status: ChangeStatus;
  /** why a change is only noise */
  noiseReason?: string;
  signatureChanged: boolean;
  oldSignature?: string;
  newSignature?: string;
  oldSource: string;
  newSource: string;
}

export interface FieldRow {
  name: string;
  oldType?: string;
  newType?: string;
  status: "added" | "removed" | "changed" | "same";
}

export interface TypeChange {
  key: string;
  spelling: string;
  status: "added" | "removed" | "changed";
  fixed?: string;
  fields: FieldRow[];
}

export interface GlobalChange {
  name: string;
  file: string;
  status: "added" | "removed" | "changed";
  oldType?: string;
  newType?: string;
}

export interface UpdatePointVerdict {
  id: number;
  where: string;
  function: string;
  safe: boolean;
  reasons: string[];
}

export interface ReviewModel {
  /** "manifest" when lib/patch's own findings are shown, "version-data" when recomputed */
  source: "manifest" | "version-data";
  warnings: string[];
  functions: FunctionChange[];
  types: TypeChange[];
  globals: GlobalChange[];
  updatePoints: UpdatePointVerdict[];
  counts: { functions: number; types: number; globals: number; noise: number };
}

function byKey<T>(items: T[], key: (t: T) => string): Map<string, T> {
  return new Map(items.map((i) => [key(i), i]));
}

function sameFields(a: { name: string; type: string }[], b: { name: string; type: string }[]): boolean {
  return a.length === b.length && a.every((f, i) => f.name === b[i].name && f.type === b[i].type);
}

export function compareFunctions(base: VdFunction[], target: VdFunction[]): FunctionChange[] {
  const old = byKey(base, (f) => f.uname);
  const neu = byKey(target, (f) => f.uname);
  const out: FunctionChange[] = [];
  for (const f of target) {
    const o = old.get(f.uname);
    if (!o) {
      out.push({ uname: f.uname, name: f.name, file: f.file, status: "added", signatureChanged: false, newSignature: f.signature, oldSource: "", newSource: f.source });
      continue;
    }
    const signatureChanged = o.signature !== f.signature;
    let status: ChangeStatus | null = null;
    let noiseReason: string | undefined;
    if (signatureChanged || o.fingerprint !== f.fingerprint) status = "changed";
    else if (o.source !== f.source) {
      status = "noise";
      noiseReason = "only comments or white space differ";
    }
    if (status)
      out.push({
        uname: f.uname, name: f.name, file: f.file, status, noiseReason, signatureChanged,
        oldSignature: o.signature, newSignature: f.signature, oldSource: o.source, newSource: f.source,
      });
  }
  for (const o of base)
    if (!neu.has(o.uname))
      out.push({ uname: o.uname, name: o.name, file: o.file, status: "removed", signatureChanged: false, oldSignature: o.signature, oldSource: o.source, newSource: "" });
  return out;
}

export function compareTypes(base: VdType[], target: VdType[]): TypeChange[] {
  const old = byKey(base, (t) => t.key);
  const neu = byKey(target, (t) => t.key);
  const out: TypeChange[] = [];
  for (const t of target) {
    const o = old.get(t.key);
    if (!o) {
      out.push({ key: t.key, spelling: t.spelling, status: "added", fields: t.fields.map((f) => ({ name: f.name, newType: f.type, status: "added" })) });
      continue;
    }
    if (sameFields(o.fields, t.fields)) continue;
    const of = byKey(o.fields, (f) => f.name);
    const nf = byKey(t.fields, (f) => f.name);
    const fields: FieldRow[] = t.fields.map((f) => {
      const p = of.get(f.name);
      return { name: f.name, oldType: p?.type, newType: f.type, status: !p ? "added" : p.type !== f.type ? "changed" : "same" };
    });
    for (const f of o.fields) if (!nf.has(f.name)) fields.push({ name: f.name, oldType: f.type, status: "removed" });
    out.push({ key: t.key, spelling: t.spelling, status: "changed", fixed: o.fixed?.reason, fields });
  }
  for (const o of base)
    if (!neu.has(o.key)) out.push({ key: o.key, spelling: o.spelling, status: "removed", fields: o.fields.map((f) => ({ name: f.name, oldType: f.type, status: "removed" })) });
  return out;
}

export function compareGlobals(base: VdGlobal[], target: VdGlobal[]): GlobalChange[] {
  const key = (g: VdGlobal) => `${g.file}:${g.function ?? ""}:${g.name}`;
  const old = byKey(base, key);
  const neu = byKey(target, key);
  const out: GlobalChange[] = [];
  for (const g of target) {
    const o = old.get(key(g));
    if (!o) out.push({ name: g.name, file: g.file, status: "added", newType: g.type });
    else if (o.type !== g.type) out.push({ name: g.name, file: g.file, status: "changed", oldType: o.type, newType: g.type });
  }
  for (const o of base) if (!neu.has(key(o))) out.push({ name: o.name, file: o.file, status: "removed", oldType: o.type });
  return out;
}

/**
 * An update point is safe when no code that may still run after it uses a
 * changed type concretely, or calls a function whose signature changed or
 * that was removed.
 */
export function judgeUpdatePoints(points: VdUpdatePoint[], types: TypeChange[], functions: FunctionChange[]): UpdatePointVerdict[] {
  const changedTypes = new Set(types.filter((t) => t.status !== "added").map((t) => t.key));
  const brokenFns = new Map(functions.filter((f) => f.signatureChanged || f.status === "removed").map((f) => [f.uname, f]));
  return points.map((p) => {
    const reasons: string[] = [];
    for (const t of p.typesUsedAfter)
      if (changedTypes.has(t)) reasons.push(`type ${t} changes but is used after this point${p.typeUseSites[t] ? ` (${p.typeUseSites[t]})` : ""}`);
    for (const f of p.functionsCalledAfter) {
      const c = brokenFns.get(f);
      if (c) reasons.push(c.status === "removed" ? `function ${c.name} is removed but called after this point` : `function ${c.name} changes signature but is called after this point`);
    }
    return { id: p.id, where: `${p.file}:${p.line}`, function: p.function, safe: reasons.length === 0, reasons };
  });
}

export function buildReviewModel(base: VersionData, target: VersionData): ReviewModel {
  const functions = compareFunctions(base.functions, target.functions);
  const types = compareTypes(base.types, target.types);
  const globals = compareGlobals(base.globals, target.globals);
  const updatePoints = judgeUpdatePoints(base.updatePoints, types, functions);
  return {
    source: "version-data",
    warnings: [],
    functions,
    types,
    globals,
    updatePoints,
    counts: {
      functions: functions.filter((f) => f.status !== "noise").length,
      types: types.length,
      globals: globals.length,
      noise: functions.filter((f) => f.status === "noise").length,
    },
  };
}

/** The review model from lib/patch's manifest.json (its own verdicts). */
export function reviewModelFromManifest(m: PatchManifest): ReviewModel {
  const functions: FunctionChange[] = m.functions
    .filter((f) => f.status !== "same")
    .map((f) => ({
      uname: f.uname,
      name: f.name,
      file: `${f.file}:${f.line}`,
      status: f.status as ChangeStatus,
      noiseReason: f.note,
      signatureChanged: f.status === "signature" || (!!f.oldSignature && !!f.newSignature && f.oldSignature !== f.newSignature),
      oldSignature: f.oldSignature,
      newSignature: f.newSignature,
      oldSource: f.oldSource ?? "",
      newSource: f.newSource ?? "",
    }));
  // What a reviewer reads first: real code changes; functions only recompiled for a new layout come after.
  const rank: Record<string, number> = { changed: 0, signature: 1, added: 2, removed: 3, retyped: 4, caller: 5, noise: 6 };
  functions.sort((a, b) => (rank[a.status] ?? 9) - (rank[b.status] ?? 9));
  const types: TypeChange[] = m.types
    .filter((t) => t.status !== "same")
    .map((t) => ({
      key: t.key,
      spelling: t.spelling,
      status: t.status as TypeChange["status"],
      fixed: t.outOfLine ? "grows beyond its room: moved out of line" : undefined,
      fields: t.fields.map((f) => ({ name: f.name, oldType: f.oldType, newType: f.newType, status: f.status === "retyped" ? "changed" : f.status })),
    }));
  const globals: GlobalChange[] = m.globals
    .filter((g) => g.status !== "same")
    .map((g) => ({ name: g.name, file: g.id, status: g.status === "retyped" ? "changed" : (g.status as GlobalChange["status"]), oldType: g.oldType, newType: g.newType }));
  const updatePoints: UpdatePointVerdict[] = m.safety.map((p) => ({ id: p.id, where: `${p.file}:${p.line}`, function: p.function, safe: p.safe, reasons: p.reasons }));
  return {
    source: "manifest",
    warnings: m.warnings ?? [],
    functions,
    types,
    globals,
    updatePoints,
    counts: {
      functions: functions.filter((f) => f.status !== "noise").length,
      types: types.length,
      globals: globals.length,
      noise: functions.filter((f) => f.status === "noise").length,
    },
  };
}
