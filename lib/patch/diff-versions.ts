/**
 * Correlates the running version's data with the next version's draft data
 * (kpatch's correlate + compare): every function, type and global gets a
 * twin and a status, and the passes after this one only read those.
 */
import type { Diagnostic } from "../model/diagnostics.js";
import type { BlockedVerdict, FieldChange, FunctionChange, GlobalChange, PointVerdict, TypeChange } from "../model/patch-manifest.js";
import type { VdField, VdFunction, VdGlobal, VdType, VersionData } from "../model/version-data.js";

export interface PatchPlan {
  sequence: number;
  functions: Map<string, FunctionChange & { include: boolean }>;
  types: Map<string, TypeChange & { wrapped: boolean; old?: VdType; next?: VdType; order?: VdField[] }>;
  globals: Map<string, GlobalChange & { oldSymbol?: string }>;
  safety: PointVerdict[];
  /** Per function of the running version: whether a thread blocked in a call made from it may count as arrived. */
  blockedSafety: BlockedVerdict[];
  refusals: Diagnostic[];
  warnings: string[];
  /** New functions main now calls before its loop, to run at the update in this order (they set up only new state). */
  setup: string[];
}

/** Fields compared by meaning when both versions recorded it (older version data has spellings only). */
const sameType = (a: VdField, b: VdField) => (a.canon !== undefined && b.canon !== undefined ? a.canon === b.canon : a.type === b.type);
const sameFlexible = (a: VdType, b: VdType) =>
  (a.flexible?.name ?? "") === (b.flexible?.name ?? "") && (a.flexible?.type ?? "").replace(/\[0\]$/, "[]") === (b.flexible?.type ?? "").replace(/\[0\]$/, "[]");
const sameFields = (a: VdType, b: VdType) =>
  a.fields.length === b.fields.length && a.fields.every((f, i) => f.name === b.fields[i].name && sameType(f, b.fields[i]));
const sameSignature = (a: VdFunction, b: VdFunction) =>
  a.canonicalSignature !== undefined && b.canonicalSignature !== undefined ? a.canonicalSignature === b.canonicalSignature : a.signature === b.signature;
const sameGlobalType = (a: VdGlobal, b: VdGlobal) => (a.canon !== undefined && b.canon !== undefined ? a.canon === b.canon : a.type === b.type);

function fieldChanges(a: VdType | undefined, b: VdType | undefined): FieldChange[] {
  const out: FieldChange[] = [];
  const olds = new Map((a?.fields ?? []).map((f) => [f.name, f]));
  for (const f of b?.fields ?? []) {
    const o = olds.get(f.name);
    out.push(!o ? { name: f.name, status: "added", newType: f.type }
      : sameType(o, f) ? { name: f.name, status: "same", oldType: o.type, newType: f.type }
      : { name: f.name, status: "retyped", oldType: o.type, newType: f.type });
    olds.delete(f.name);
  }
  for (const o of olds.values()) out.push({ name: o.name, status: "removed", oldType: o.type });
  return out;
}

/**
 * Kept pointers into a type's fields stay right when each such field keeps its
 * offset: C lays out a common initial sequence alike (C11 6.5.2.3p6), so the
 * fields up to it must be unchanged, in name, meaning and order.
 */
function movedEscapingFields(o: VdType, t: VdType) {
  return (o.escapingFields ?? []).filter((e) => {
    const i = o.fields.findIndex((f) => f.name === e.field);
    if (i < 0) return false; // a member of an anonymous part: keyed by that part
    return t.fields.length <= i || !o.fields.slice(0, i + 1).every((f, j) => f.name === t.fields[j].name && sameType(f, t.fields[j]));
  });
}

/**
 * A new version's data is Graft's to lay out (its fields are reached only by
 * name, through the accessors): when the source inserts fields before a kept
 * one, the new data keeps the old fields up to the last kept one in their old
 * order, and the rest follows in the source's order. Possible when each of
 * those old fields is still there with the same meaning, and no field is a
 * bit-field (its width is not in the version data).
 */
function keptPlaceOrder(o: VdType, t: VdType): VdField[] | undefined {
  const last = Math.max(...(o.escapingFields ?? []).map((e) => o.fields.findIndex((f) => f.name === e.field)));
  if (last < 0) return undefined;
  const byName = new Map(t.fields.map((f) => [f.name, f]));
  const head = o.fields.slice(0, last + 1).map((f) => byName.get(f.name));
  if (!head.every((f, j): f is VdField => !!f && !!f.name && sameType(o.fields[j], f))) return undefined;
  if (t.fields.some((f) => !f.name || /:\s*\d+$/.test(f.type))) return undefined;
  const placed = new Set(head.map((f) => f.name));
  return [...head, ...t.fields.filter((f) => !placed.has(f.name))];
}

export function diffVersions(old: VersionData, next: VersionData): PatchPlan {
  const plan: PatchPlan = { sequence: old.sequence + 1, functions: new Map(), types: new Map(), globals: new Map(), safety: [], blockedSafety: [], refusals: [], warnings: [], setup: [] };
  const refuse = (code: number, message: string, file?: string, line?: number) =>
    plan.refusals.push({ code, category: "error", message, ...(file ? { file } : {}), ...(line ? { line } : {}) });

  // ---- types --------------------------------------------------------------
  const oldTypes = new Map(old.types.map((t) => [t.key, t]));
  for (const t of next.types) {
    const o = oldTypes.get(t.key);
    oldTypes.delete(t.key);
    if (!o) {
      plan.types.set(t.key, { key: t.key, spelling: t.spelling, status: "added", to: 0, fields: fieldChanges(undefined, t), wrapped: t.wrapped, next: t });
      continue;
    }
    const changed = !sameFields(o, t);
    if (o.wrapped && !sameFlexible(o, t)) {
      refuse(4014, `${t.spelling} changes its flexible array member (${o.flexible ? `${o.flexible.type} ${o.flexible.name}` : "none"} -> ${t.flexible ? `${t.flexible.type} ${t.flexible.name}` : "none"}): what the running program stored after its values would be read another way`, t.file, t.line);
    }
    // Wrapping follows the running program: its memory has the old layout.
    plan.types.set(t.key, {
      key: t.key, spelling: t.spelling, status: changed ? "changed" : "same", from: o.version, to: changed ? o.version + 1 : o.version,
      fields: fieldChanges(o, t), wrapped: o.wrapped, old: o, next: t,
    });
    if (changed && !o.wrapped) {
      refuse(4001, `${t.spelling} changed but is fixed in the running program (${o.fixed?.reason ?? "not wrapped"}): its layout cannot change`, t.file, t.line);
    } else if (o.wrapped && t.fixed) {
      refuse(4002, `${t.fixed.reason}, but the running program wraps it: the new code cannot rely on its raw layout`, t.fixed.file, t.fixed.line);
    }
    const moved = changed && o.wrapped ? movedEscapingFields(o, t) : [];
    const order = moved.length ? keptPlaceOrder(o, t) : undefined;
    if (order) plan.types.get(t.key)!.order = order;
    else for (const e of moved) {
      refuse(4006, `${t.spelling} changes before its field '${e.field}', whose address the running program keeps (${e.file}:${e.line}: ${e.what}): `
        + `the kept pointer would point at another field. Keep the fields up to '${e.field}' as they are (add new fields after it), or stop keeping the address`, t.file, t.line);
    }
  }
  for (const o of oldTypes.values()) plan.types.set(o.key, { key: o.key, spelling: o.spelling, status: "removed", from: o.version, fields: fieldChanges(o, undefined), wrapped: o.wrapped, old: o });
  const changedTypes = new Set([...plan.types.values()].filter((t) => t.status === "changed").map((t) => t.key));

  // ---- functions ----------------------------------------------------------
  const oldFns = new Map(old.functions.map((f) => [f.uname, f]));
  const sigChanged = new Set<string>();
  for (const f of next.functions) {
    const o = oldFns.get(f.uname);
    oldFns.delete(f.uname);
    const base = { name: f.name, uname: f.uname, file: f.file, line: f.line, newSignature: f.signature, newSource: f.source };
    if (!o) { plan.functions.set(f.uname, { ...base, status: "added", include: true }); continue; }
    const withOld = { ...base, oldSignature: o.signature, oldSource: o.source };
    if (f.uname === "main") {
      const changed = o.fingerprint !== f.fingerprint && o.stableFingerprint !== f.stableFingerprint;
      plan.functions.set(f.uname, { ...withOld, status: changed ? "changed" : "same", include: false, ...(changed ? { note: "main is running and is never replaced: its change is not applied" } : {}) });
      if (changed) plan.warnings.push("main() changed, but main is running and is never replaced: move the changed part (the event loop's body) into a function of its own");
      continue;
    }
    if (!sameSignature(o, f)) {
      sigChanged.add(f.uname);
      plan.functions.set(f.uname, { ...withOld, status: "signature", include: true });
    } else if (o.fingerprint !== f.fingerprint) {
      if (o.stableFingerprint === f.stableFingerprint) {
        plan.functions.set(f.uname, { ...withOld, status: "noise", include: false, note: "only macro expansions such as __LINE__ or __FILE__ differ: the source is the same" });
      } else {
        plan.functions.set(f.uname, { ...withOld, status: "changed", include: true });
      }
    } else if (o.source !== f.source) {
      plan.functions.set(f.uname, { ...withOld, status: "noise", include: false, note: "the text differs, not what it means (formatting, comments, or a qualifier that is no part of the type)" });
    } else {
      plan.functions.set(f.uname, { ...withOld, status: "same", include: false });
    }
  }
  for (const o of oldFns.values()) plan.functions.set(o.uname, { name: o.name, uname: o.uname, file: o.file, line: o.line, status: "removed", include: false, oldSignature: o.signature, oldSource: o.source });

  // Code compiled for an old layout or an old signature must be replaced too.
  for (const f of next.functions) {
    const c = plan.functions.get(f.uname)!;
    if (c.include || f.uname === "main") continue; // main is running and never replaced: its verdict is the safety analysis's
    const usesChanged = f.typesUsed.filter((k) => changedTypes.has(k));
    const callsChanged = f.calls.filter((u) => sigChanged.has(u));
    if (usesChanged.length) Object.assign(c, { status: "retyped", include: true, note: `uses ${usesChanged.join(", ")} whose layout changed` });
    else if (callsChanged.length) Object.assign(c, { status: "caller", include: true, note: `calls ${callsChanged.join(", ")} whose signature changed` });
  }

  // A function called directly is compiled into its callers (lib/compile/direct-calls.ts): they are replaced with it.
  const directOld = new Set(old.functions.filter((f) => f.direct).map((f) => f.uname));
  for (let grew = true; grew;) {
    grew = false;
    for (const f of next.functions) {
      const c = plan.functions.get(f.uname)!;
      if (c.include || f.uname === "main") continue;
      const via = f.calls.filter((u) => directOld.has(u) && plan.functions.get(u)?.include);
      if (!via.length) continue;
      Object.assign(c, { status: "caller", include: true, note: `calls ${via.join(", ")} directly (compiled into its callers), which changed` });
      grew = true;
    }
  }

  // An address-taken function is reached through its stable entry, which forwards with the parameters it was compiled with.
  for (const o of old.functions) {
    const c = plan.functions.get(o.uname);
    if (o.addressTaken && c?.status === "signature") {
      refuse(4009, `${o.name}() changes its type (${o.signature} -> ${c.newSignature}), but its address is taken in the running program: the addresses already stored (in tables, in a library's callbacks) reach its stable entry, which passes the old parameters. Keep the signature and add a new function for the new one`, o.file, o.line);
    }
  }

  // A variadic function whose address a static initialiser holds is reached through that address forever.
  for (const o of old.functions) {
    const c = plan.functions.get(o.uname);
    if (o.pinned && c && (c.include || c.status === "removed")) {
      refuse(4005, `${o.name}() would change, but a static initialiser at ${o.pinned} holds its address, and a variadic function has no stable entry to forward through: the running program would keep calling its old code (take the address in code, or give it a fixed number of arguments)`, o.file, o.line);
    }
  }

  // ---- globals ------------------------------------------------------------
  const oldGlobals = new Map(old.globals.map((g) => [g.id, g]));
  // A global that only changed linkage (static <-> extern) keeps its storage: match by file, function and name.
  const byPlace = (g: { name: string; file: string; function?: string }) => `${g.file}\0${g.function ?? ""}\0${g.name}`;
  const nextIds = new Set(next.globals.map((g) => g.id));
  const oldByPlace = new Map(old.globals.filter((g) => !nextIds.has(g.id)).map((g) => [byPlace(g), g]));
  for (const g of next.globals) {
    const o = oldGlobals.get(g.id) ?? (oldGlobals.has(g.id) ? undefined : oldByPlace.get(byPlace(g)));
    if (o) oldGlobals.delete(o.id);
    if (!o) plan.globals.set(g.id, { id: g.id, name: g.name, status: "added", newType: g.type, symbol: g.id });
    else if (!sameGlobalType(o, g)) {
      plan.globals.set(g.id, { id: g.id, name: g.name, status: "retyped", oldType: o.type, newType: g.type, oldSymbol: o.symbol, symbol: `${g.id}__graft_v${plan.sequence}` });
      // New storage is sound only if nothing reaches the old one but code the patch replaces.
      if (o.addressKept) {
        refuse(4017, `global ${g.name} changes type (${o.type} -> ${g.type}), but the running program keeps its address (${o.addressKept.file}:${o.addressKept.line}: ${o.addressKept.what}): `
          + `the kept pointer would go on reaching the old storage while the new code uses the new one. Keep its type, or stop keeping its address`, g.file, g.line);
      }
    }
    else plan.globals.set(g.id, { id: g.id, name: g.name, status: "same", oldType: o.type, newType: g.type, symbol: o.symbol });
  }
  for (const o of oldGlobals.values()) plan.globals.set(o.id, { id: o.id, name: o.name, status: "removed", oldType: o.type, oldSymbol: o.symbol });

  // A global that moves to new storage is read and written only by code that knows: every function that uses it is replaced.
  const moved = new Set([...plan.globals.values()].filter((g) => g.status === "retyped").map((g) => g.id));
  if (moved.size) for (const f of next.functions) {
    const c = plan.functions.get(f.uname)!;
    if (c.include || f.uname === "main") continue;
    const uses = (f.globalsUsed ?? []).filter((g) => moved.has(g));
    if (uses.length) Object.assign(c, { status: "retyped", include: true, note: `uses ${uses.map((g) => plan.globals.get(g)!.name).join(", ")}, whose type and storage change` });
  }

  // New set-up that only main would run never runs: main is not replaced. A call of main's to a new function that
  // takes nothing and sets up only new state (globals new in this version) is run at the update instead, in main's
  // order; any other is refused: what it sets up would be missing for the new code.
  const newMain = next.functions.find((f) => f.uname === "main");
  if (newMain && plan.functions.get("main")?.status === "changed") {
    const nextFns = new Map(next.functions.map((f) => [f.uname, f]));
    const addedGlobals = new Set([...plan.globals.values()].filter((g) => g.status === "added").map((g) => g.id));
    const onlyFromMain = (u: string) => next.functions.every((f) => f.uname === "main" || !f.calls.includes(u));
    const setsUpNewState = (u: string, seen = new Set<string>()): boolean => {
      const f = nextFns.get(u);
      if (!f || seen.has(u) || plan.functions.get(u)?.status !== "added" || !/\(void\)$/.test(f.signature)) return false;
      seen.add(u);
      return (f.globalsUsed ?? []).every((g) => addedGlobals.has(g)) && f.calls.every((c) => setsUpNewState(c, seen));
    };
    const at = (name: string) => newMain.source.search(new RegExp(`\\b${name}\\s*\\(`));
    for (const u of newMain.calls) {
      const c = plan.functions.get(u);
      if (c?.status !== "added" || !onlyFromMain(u)) continue;
      if (setsUpNewState(u)) {
        plan.setup.push(u);
        plan.warnings.push(`main() now calls ${c.name}(), new in this version; main is never replaced, so the update runs it once before anything switches (it sets up only state new in this version)`);
      } else {
        refuse(4015, `main() now calls ${c.name}(), new in this version, and main is never replaced: the running main will not call it, and it touches state the running version already has, so running it at the update could reset that state. Call what is needed from graft_patch_init() in the new version (docs/patch-author-guide.md), or from code the patch replaces`, newMain.file, newMain.line);
      }
    }
    plan.setup.sort((x, y) => at(nextFns.get(x)!.name) - at(nextFns.get(y)!.name));
  }

  // ---- safety at each update point of the running program ------------------
  const oldAddressTaken = new Set(old.functions.filter((f) => f.addressTaken).map((f) => f.uname));
  /** Why old code that may still run (what `after` lists) would meet this patch's changes; `where` names the moment. */
  const unsafeReasons = (after: { file: string; typesUsedAfter: string[]; functionsCalledAfter: string[]; globalsUsedAfter?: string[]; typeUseSites?: Record<string, string>; globalUseSites?: Record<string, string> }, where: string): string[] => {
    const reasons: string[] = [];
    for (const k of after.typesUsedAfter) if (changedTypes.has(k)) {
      reasons.push(`unsafe: ${plan.types.get(k)!.spelling} is used at ${after.typeUseSites?.[k] ?? after.file} ${where}, by code that keeps running the old layout`);
    }
    for (const u of after.functionsCalledAfter) {
      if (sigChanged.has(u)) reasons.push(`unsafe: ${plan.functions.get(u)!.name}() changes signature and is called ${where} by code that passes the old arguments`);
    }
    // A call through a pointer may reach any function whose address was taken.
    if (after.functionsCalledAfter.includes("(*)")) {
      for (const u of sigChanged) if (oldAddressTaken.has(u)) reasons.push(`unsafe: ${plan.functions.get(u)!.name}() changes signature, its address is taken, and a call through a function pointer runs ${where} with the old arguments`);
    }
    for (const g of after.globalsUsedAfter ?? []) {
      const c = plan.globals.get(g) ?? [...plan.globals.values()].find((x) => x.oldSymbol === g || x.id === g);
      if (c?.status === "retyped") reasons.push(`unsafe: global ${c.name} changes type (${c.oldType} -> ${c.newType}) and is used at ${after.globalUseSites?.[g] ?? after.file} ${where}, by code that keeps using the old storage`);
    }
    return reasons;
  };
  for (const p of old.updatePoints) {
    const reasons = unsafeReasons(p, "after this point");
    plan.safety.push({ id: p.id, file: p.file, line: p.line, function: p.function, safe: reasons.length === 0, reasons });
  }
  // As for a point in a function the patch replaces, a thread blocked there goes on in the old body, which is what `b` describes.
  for (const b of old.blockingSites ?? []) {
    const reasons = unsafeReasons(b, "after a call that waits in it");
    plan.blockedSafety.push({ id: b.id, uname: b.uname, function: b.function, file: b.file, line: b.line, safe: reasons.length === 0, reasons });
  }
  if (plan.safety.length && plan.safety.every((s) => !s.safe)) {
    plan.warnings.push("no update point of the running program is safe for this patch: it will be refused at apply time unless the loop that holds the point is moved into its own function");
  }
  return plan;
}
