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

/** Whether a use at `s` may run after `offset` (later in the source, or in the loop around it). */
function isLive(s: UseSite, offset: number, loop: [number, number] | undefined): boolean {
  return s.offset > offset || (!!loop && loop[0] <= s.offset && s.offset < loop[1]);
}

function usesAfter(ff: FunctionFacts, offset: number, into: PointSafety) {
  const loop = loopAround(ff, offset);
  const live = (s: UseSite) => isLive(s, offset, loop);
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
    // A library that calls back (callbacks.ts) reaches an address-taken function as a call through a pointer does.
    for (const site of [...ff.indirectCalls, ...ff.callbackCalls.filter((s) => !ff.held.has(s.offset))]) for (const callee of facts.addressTaken) {
      const l = callers.get(callee) ?? [];
      l.push({ ff, site });
      callers.set(callee, l);
    }
  }
  return callers;
}

/** What runs after each function returns: the rest of every caller that may be on the stack, transitively. */
export interface Continuations {
  after(uname: string): PointSafety;
}

/** Stands for "any function whose address is taken": its callers are the calls through pointers and of libraries that call back. */
const ANY_ADDRESS_TAKEN = "\0address-taken";

/**
 * The continuations of every function at once, over the call graph with its
 * strongly connected components merged (Tarjan's algorithm), so each call
 * site's rest is read once: the blocking sites ask for most functions of the
 * program, and the calls through pointers, which reach every address-taken
 * function, make the graph dense. The answer is what a search up the callers
 * from the function would collect, as analysePoint describes.
 */
export function continuations(facts: ProgramFacts): Continuations {
  const edges = new Map<string, { ff: FunctionFacts; site: UseSite }[]>();
  const push = (callee: string, ff: FunctionFacts, site: UseSite) => {
    const l = edges.get(callee);
    if (l) l.push({ ff, site }); else edges.set(callee, [{ ff, site }]);
  };
  for (const ff of [...facts.functions.values(), ...facts.mains]) {
    for (const [callee, sites] of ff.calls) for (const site of sites) if (!ff.held.has(site.offset)) push(callee, ff, site);
    for (const site of ff.indirectCalls) push(ANY_ADDRESS_TAKEN, ff, site);
    for (const site of ff.callbackCalls) if (!ff.held.has(site.offset)) push(ANY_ADDRESS_TAKEN, ff, site);
  }
  const next = (n: string): string[] => {
    const out = (edges.get(n) ?? []).map((e) => e.ff.uname);
    if (facts.addressTaken.has(n)) out.push(ANY_ADDRESS_TAKEN);
    return out;
  };
  const result = new Map<string, PointSafety>();
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  let counter = 0;
  const solve = (root: string) => {
    // Iterative: a deep call chain must not overflow JavaScript's stack.
    const work: { n: string; succ: string[]; i: number }[] = [];
    const open = (n: string) => {
      index.set(n, counter); low.set(n, counter); counter++;
      stack.push(n); onStack.add(n);
      work.push({ n, succ: next(n), i: 0 });
    };
    open(root);
    while (work.length) {
      const top = work[work.length - 1];
      if (top.i < top.succ.length) {
        const m = top.succ[top.i++];
        if (!index.has(m)) open(m);
        else if (onStack.has(m)) low.set(top.n, Math.min(low.get(top.n)!, index.get(m)!));
        continue;
      }
      work.pop();
      if (work.length) { const parent = work[work.length - 1].n; low.set(parent, Math.min(low.get(parent)!, low.get(top.n)!)); }
      if (low.get(top.n) !== index.get(top.n)) continue;
      // top.n roots a component: everything it reaches outside it is solved already.
      const members: string[] = [];
      for (let m = stack.pop()!; ; m = stack.pop()!) { onStack.delete(m); members.push(m); if (m === top.n) break; }
      const own = new Set(members);
      const out: PointSafety = { typesUsedAfter: new Map(), functionsCalledAfter: new Set(), globalsUsedAfter: new Map() };
      for (const m of members) for (const { ff, site } of edges.get(m) ?? []) usesAfter(ff, site.offset, out);
      for (const m of members) for (const x of next(m)) if (!own.has(x)) mergeSafety(out, result.get(x)!);
      for (const m of members) result.set(m, out);
    }
  };
  return {
    after(uname: string): PointSafety {
      if (!result.has(uname)) solve(uname);
      return result.get(uname)!;
    },
  };
}

/** Adds what `from` lists to `into`, keeping the first use site found of each. */
export function mergeSafety(into: PointSafety, from: PointSafety): void {
  for (const [k, s] of from.typesUsedAfter) if (!into.typesUsedAfter.has(k)) into.typesUsedAfter.set(k, s);
  for (const f of from.functionsCalledAfter) into.functionsCalledAfter.add(f);
  for (const [g, s] of from.globalsUsedAfter) if (!into.globalsUsedAfter.has(g)) into.globalsUsedAfter.set(g, s);
}

export function analysePoint(
  facts: ProgramFacts,
  holder: FunctionFacts,
  offset: number,
  after: Continuations = continuations(facts),
  out: PointSafety = { typesUsedAfter: new Map(), functionsCalledAfter: new Set(), globalsUsedAfter: new Map() },
): PointSafety {
  // A kept pointer into a field (facts.escapingFields) is no use of the type here: the patch keeps that field where it is (diff-versions.ts).
  usesAfter(holder, offset, out);
  mergeSafety(out, after.after(holder.uname));
  return out;
}
