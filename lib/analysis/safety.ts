/**
 * The updateability analysis of the seed paper, per update point: which named
 * types are used concretely, and which functions are called (so their
 * signatures are relied on), by old code that may still run after an update
 * there. That code is the rest of the function holding the point (the whole
 * enclosing loop, if the point is in one: the next iteration runs old code
 * too) and, up the call graph, the rest of every caller that may be on the
 * stack. Calls through function pointers, and calls of a library that may
 * call the program back (callbacks.ts), make every address-taken function's
 * possible callers count.
 */
import type { FunctionFacts, ProgramFacts, UseSite } from "./facts.js";

export interface PointSafety {
  typesUsedAfter: Map<string, UseSite>;
  functionsCalledAfter: Set<string>;
  /** Globals (version-data ids) read or written after the point: a global whose type changes gets new storage the old code would not see. */
  globalsUsedAfter: Map<string, UseSite>;
}

function loopAround(ff: FunctionFacts, offset: number): [number, number] | undefined {
  // Loops were recorded in pre-order, so the first that contains the offset is the outermost.
  return ff.loops.find(([a, b]) => a <= offset && offset < b);
}

function usesAfter(ff: FunctionFacts, offset: number, into: PointSafety) {
  const loop = loopAround(ff, offset);
  const live = (s: UseSite) => s.offset > offset || (!!loop && loop[0] <= s.offset && s.offset < loop[1]);
  for (const [key, sites] of ff.typeUses) {
    const s = sites.find(live);
    if (s && !into.typesUsedAfter.has(key)) into.typesUsedAfter.set(key, s);
  }
  for (const [callee, sites] of ff.calls) if (sites.some(live)) into.functionsCalledAfter.add(callee);
  if (ff.indirectCalls.some(live)) into.functionsCalledAfter.add("(*)");
  for (const [g, sites] of ff.globalUses) {
    const s = sites.find(live);
    if (s && !into.globalsUsedAfter.has(g)) into.globalsUsedAfter.set(g, s);
  }
  // A pointer into a field taken anywhere in a function still running may be used after the point without a field access.
  for (const [key, sites] of ff.fieldAliases) if (!into.typesUsedAfter.has(key)) into.typesUsedAfter.set(key, sites[0]);
}

/** Callers of each function: direct call sites, plus, for address-taken functions, calls through pointers and calls of libraries that call back. */
export function callerIndex(facts: ProgramFacts): Map<string, { ff: FunctionFacts; site: UseSite }[]> {
  const all = [...facts.functions.values(), ...facts.mains];
  const callers = new Map<string, { ff: FunctionFacts; site: UseSite }[]>();
  for (const ff of all) {
    for (const [callee, sites] of ff.calls) for (const site of sites) {
      if (ff.held.has(site.offset)) continue; // no update happens under it
      const l = callers.get(callee) ?? [];
      l.push({ ff, site });
      callers.set(callee, l);
    }
    // A library that calls back (callbacks.ts) is on the stack between this call and the callback, as a pointer call is not.
    for (const site of [...ff.indirectCalls, ...ff.callbackCalls.filter((s) => !ff.held.has(s.offset))]) for (const callee of facts.addressTaken) {
      const l = callers.get(callee) ?? [];
      l.push({ ff, site });
      callers.set(callee, l);
    }
  }
  return callers;
}

export function analysePoint(
  facts: ProgramFacts,
  holder: FunctionFacts,
  offset: number,
  callers: Map<string, { ff: FunctionFacts; site: UseSite }[]> = callerIndex(facts),
  out: PointSafety = { typesUsedAfter: new Map(), functionsCalledAfter: new Set(), globalsUsedAfter: new Map() },
): PointSafety {
  // A kept pointer into a field (facts.escapingFields) is no use of the type here: the patch keeps that field where it is (diff-versions.ts).
  usesAfter(holder, offset, out);
  const seen = new Set<string>([holder.uname]);
  const queue = [holder.uname];
  while (queue.length) {
    const f = queue.shift()!;
    for (const { ff, site } of callers.get(f) ?? []) {
      usesAfter(ff, site.offset, out);
      if (!seen.has(ff.uname)) { seen.add(ff.uname); queue.push(ff.uname); }
    }
  }
  return out;
}
