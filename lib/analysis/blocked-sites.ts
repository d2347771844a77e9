/**
 * Where a thread may wait: for every function of the program, what runs
 * after a moment when a thread is blocked in a call made from it (poll,
 * accept, read, or a library's event loop that waits in one). That is the
 * whole of the function, as if an update point stood at its entry; the
 * whole of every function that may be inlined into it (a direct call has no
 * slot, so gcc may inline it and its code is then this function's); and the
 * rest of every caller (analysePoint). The runtime takes a thread blocked in
 * such a function as arrived when the patch finds all of it safe
 * (native/runtime/blocked.c). An extracted loop body counts as its holder.
 *
 * Only functions that can be the innermost function of the program on a
 * waiting thread's stack get a site (waitCandidates): the runtime takes a
 * thread in any other code of the program for one it cannot judge.
 */
import type { TranslationUnit } from "../cfront/translation-unit.js";
import { unameOf } from "../cfront/program.js";
import type { VdBlockingSite } from "../model/version-data.js";
import { functionId } from "../compile/function-sections.js";
import type { FunctionFacts, ProgramFacts } from "./facts.js";
import { analysePoint, continuations, type PointSafety } from "./safety.js";

/** The calls native/runtime/blocking.c defines in front of the C library's: where a thread can be seen waiting. */
export const WAITING_CALLS: ReadonlySet<string> = new Set(["epoll_wait", "epoll_pwait", "poll", "ppoll", "select", "pselect", "accept", "accept4", "read", "recv", "recvfrom", "recvmsg"]);

/**
 * The functions that can be on a waiting thread's stack (the runtime wants
 * every one of them judged): main; those that call one of WAITING_CALLS, a
 * function outside the C library (another library may wait in one of them),
 * or through a pointer (it may be one of them); every function that calls
 * one of these (their callers are on the stack below them, or have them
 * inlined); every extracted loop body.
 */
export function waitCandidates(facts: ProgramFacts, units: readonly TranslationUnit[], direct: ReadonlySet<string>, libc: ReadonlySet<string>): Set<string> {
  const all: FunctionFacts[] = [...facts.functions.values(), ...facts.mains];
  const out = new Set<string>();
  for (const ff of all) {
    if (ff.uname === "main" || ff.indirectCalls.length > 0 || [...ff.externalCalls].some((n) => WAITING_CALLS.has(n) || !libc.has(n))) out.add(ff.uname);
  }
  for (let grew = true; grew; ) {
    grew = false;
    for (const ff of all) {
      if (out.has(ff.uname)) continue;
      if ([...ff.calls.keys()].some((c) => out.has(c))) { out.add(ff.uname); grew = true; }
    }
  }
  for (const tu of units) for (const fn of tu.functions) if (fn.extracted) out.add(unameOf(fn, tu));
  return out;
}

export function blockingSites(facts: ProgramFacts, units: readonly TranslationUnit[], direct: ReadonlySet<string>, candidates: ReadonlySet<string>): VdBlockingSite[] {
  const after = continuations(facts);
  const all: FunctionFacts[] = [...facts.functions.values(), ...facts.mains];
  const byUname = new Map(all.map((ff) => [ff.uname, ff]));
  const memo = new Map<string, PointSafety>();
  const safetyOf = (uname: string, ff: FunctionFacts): PointSafety => {
    const known = memo.get(uname);
    if (known) return known;
    const out: PointSafety = { typesUsedAfter: new Map(), functionsCalledAfter: new Set(), globalsUsedAfter: new Map() };
    // Offset -1: every use in the function counts, as at its entry.
    const todo = [ff];
    const seen = new Set<FunctionFacts>();
    while (todo.length) {
      const g = todo.pop()!;
      if (seen.has(g)) continue;
      seen.add(g);
      analysePoint(facts, g, -1, after, out);
      for (const callee of g.calls.keys()) {
        const c = direct.has(callee) ? facts.functions.get(callee) : undefined;
        if (c) todo.push(c);
      }
    }
    memo.set(uname, out);
    return out;
  };
  const site = (uname: string, ff: FunctionFacts): VdBlockingSite => {
    const s = safetyOf(uname, ff);
    return {
      uname, id: functionId(uname), function: ff.fn.name, file: ff.fn.pos.file, line: ff.fn.pos.line,
      typesUsedAfter: [...s.typesUsedAfter.keys()].sort(),
      functionsCalledAfter: [...s.functionsCalledAfter].sort(),
      globalsUsedAfter: [...s.globalsUsedAfter.keys()].sort(),
    };
  };
  const out: VdBlockingSite[] = [];
  for (const [uname, ff] of byUname) if (candidates.has(uname)) out.push(site(uname, ff));
  for (const tu of units) {
    for (const fn of tu.functions) {
      if (!fn.extracted || !candidates.has(unameOf(fn, tu))) continue;
      const holder = fn.extracted.holder.name === "main" ? facts.mains.find((m) => m.fn === fn.extracted!.holder) : facts.functions.get(unameOf(fn.extracted.holder, tu));
      if (holder) out.push({ ...site(holder.uname, holder), uname: unameOf(fn, tu), id: functionId(unameOf(fn, tu)) });
    }
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
