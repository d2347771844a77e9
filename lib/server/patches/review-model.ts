import "server-only";
import type { VersionData } from "../../model/version-data";
import type { PatchManifest } from "../../model/patch-manifest";
// Type-only imports inside: the app bundles it without resolving the engine's `.js` paths.
import { diffVersions } from "../../patch/diff-versions";
import { threadVerdicts } from "../../analysis/thread-entries";

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

export interface ThreadRequirement {
  entry: string;
  where: string;
  /** Its points that are safe for this patch: the update waits for it at one of them. */
  safePoints: number[];
  /** Its points that are not. */
  unsafePoints: number[];
  /** Whether it may also wait idle, blocked in a call made from its entry function (and why not, when it may not). */
  idle?: { safe: boolean; reasons: string[] };
}

export interface ReviewModel {
  /** "manifest" when lib/patch's own findings are shown, "version-data" when recomputed */
  source: "manifest" | "version-data";
  warnings: string[];
  functions: FunctionChange[];
  types: TypeChange[];
  globals: GlobalChange[];
  updatePoints: UpdatePointVerdict[];
  /** Each running thread (by start routine) and the points it must wait at for this patch to apply. */
  threads: ThreadRequirement[];
  counts: { functions: number; types: number; globals: number; noise: number };
}

/**
 * The review model before lib/patch has written a manifest (generation pending
 * or failed): the engine's own diff of the two versions' data, so that the
 * preview lists what the patch will (callers of changed direct functions,
 * recompiled users of changed types, the safety verdicts) and nothing else.
 */
export function buildReviewModel(base: VersionData, target: VersionData): ReviewModel {
  const plan = diffVersions(base, target);
  const manifest: PatchManifest = {
    format: "graft-patch/1", program: base.program, base: base.digest, target: target.digest, sequence: plan.sequence, createdAt: "",
    functions: [...plan.functions.values()], types: [...plan.types.values()], globals: [...plan.globals.values()], safety: plan.safety,
    transformers: [], warnings: [...plan.refusals.map((r) => `refused: ${r.message}`), ...plan.warnings],
    ...(base.threads ? { threads: threadVerdicts(base.threads, plan.safety, plan.blockedSafety) } : {}),
  };
  return { ...reviewModelFromManifest(manifest), source: "version-data" };
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
  const threads: ThreadRequirement[] = (m.threads ?? []).map((t) => ({
    entry: t.entry, where: `${t.file}:${t.line}`,
    safePoints: t.points.filter((p) => p.safe).map((p) => p.id), unsafePoints: t.points.filter((p) => !p.safe).map((p) => p.id),
    ...(t.blockedInEntry ? { idle: t.blockedInEntry } : {}),
  }));
  return {
    source: "manifest",
    warnings: m.warnings ?? [],
    functions,
    types,
    globals,
    updatePoints,
    threads,
    counts: {
      functions: functions.filter((f) => f.status !== "noise").length,
      types: types.length,
      globals: globals.length,
      noise: functions.filter((f) => f.status === "noise").length,
    },
  };
}
