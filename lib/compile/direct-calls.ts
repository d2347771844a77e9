/**
 * Which functions are called directly instead of through a slot.
 *
 * A call through a slot cannot be inlined, and the small static helpers of a
 * C program (list links, hash steps, key checks) are where gcc's inlining pays
 * most. A static function that nothing takes the address of, that holds no
 * update point and that main does not call is therefore called directly and
 * left to gcc, as in the stock build; it has no slot. The price is paid by
 * patches, as kpatch pays it for inlined functions: when such a function
 * changes, every caller is replaced too (diff-versions.ts), and patch code
 * that calls it carries its own copy (lib/patch).
 */
import type { Program } from "../cfront/program.js";
import type { FunctionFacts, ProgramFacts } from "../analysis/facts.js";
import { callerIndex } from "../analysis/safety.js";
import type { Diagnostic } from "../model/diagnostics.js";
import type { VersionData } from "../model/version-data.js";

/** A function called from more places than this keeps its slot: a change to it would drag too many callers into a patch. */
export const MAX_DIRECT_CALLERS = 8;

/**
 * Functions whose frame may outlive an update: they hold an update point that
 * does not restart them, or call (perhaps through a function pointer) into
 * one. Old code in such a frame keeps running after the update, and must reach
 * the new version of what it calls through slots. An extracted loop body whose
 * only points restart it is re-entered through its slot: it is not one of them.
 */
function framesAcrossUpdates(program: Program, facts: ProgramFacts): Set<string> {
  const holds = new Map<string, { restarting: boolean }[]>();
  for (const [uname, { fn, tu }] of program.functions) {
    const pts = tu.updatePoints.filter((p) => p.fn === fn).map((p) => ({ restarting: !!p.restarts && !!fn.extracted }));
    if (pts.length) holds.set(uname, pts);
  }
  const reaches = new Set(holds.keys());
  // A call through a pointer may reach any function whose address is taken.
  const callsInto = (ff: FunctionFacts) =>
    [...ff.calls.keys()].some((u) => reaches.has(u)) || (ff.indirectCalls.length > 0 && [...facts.addressTaken].some((u) => reaches.has(u)));
  for (let grew = true; grew;) {
    grew = false;
    for (const ff of facts.functions.values()) {
      if (!reaches.has(ff.uname) && callsInto(ff)) { reaches.add(ff.uname); grew = true; }
    }
  }
  const out = new Set<string>();
  for (const u of reaches) {
    const ff = facts.functions.get(u);
    const onlyRestarting = (holds.get(u) ?? []).every((p) => p.restarting);
    if (!onlyRestarting || (ff && callsInto(ff))) out.add(u);
  }
  return out;
}

/** Why a function must keep a slot, or undefined when it may be called directly. */
function slotReason(program: Program, facts: ProgramFacts, uname: string, across: ReadonlySet<string>, callers: ReadonlyMap<string, Set<string>>): string | undefined {
  const entry = program.functions.get(uname);
  if (!entry) return "not defined by the program";
  const { fn, tu } = entry;
  if (!fn.isStatic) return "it has external linkage";
  if (fn.extracted) return "it is an extracted loop body";
  if (fn.variadic) return "it is variadic";
  if (facts.addressTaken.has(uname)) return "its address is taken";
  if (tu.updatePoints.some((p) => p.fn === fn)) return "it holds an update point";
  if (facts.mains.some((m) => m.calls.has(uname))) return "main calls it, and main is never replaced";
  const held = [...callers.get(uname) ?? []].find((c) => across.has(c));
  if (held) return `${held} calls it from a frame that may outlive an update, and must reach its new version through a slot`;
  return undefined;
}

/** The program-unique names of each function's callers (lib/analysis/safety.ts keeps the call sites). */
function callersOf(facts: ProgramFacts): Map<string, Set<string>> {
  return new Map([...callerIndex(facts)].map(([callee, sites]) => [callee, new Set(sites.map((c) => c.ff.uname))]));
}

/** The first build: every function that may be called directly and has few enough callers. */
export function chooseDirectFunctions(program: Program, facts: ProgramFacts): Set<string> {
  const callers = callersOf(facts);
  const across = framesAcrossUpdates(program, facts);
  const out = new Set<string>();
  for (const uname of program.functions.keys()) {
    if (slotReason(program, facts, uname, across, callers) === undefined && (callers.get(uname)?.size ?? 0) <= MAX_DIRECT_CALLERS) out.add(uname);
  }
  return out;
}

/**
 * A patch keeps the running program's choice: a function without a slot cannot
 * get one later through code that is not replaced. A new version that needs a
 * slot for such a function is refused, with the reason.
 */
export function inheritDirectFunctions(old: VersionData, program: Program, facts: ProgramFacts): { direct: Set<string>; refusals: Diagnostic[] } {
  const direct = new Set<string>();
  const refusals: Diagnostic[] = [];
  const callers = callersOf(facts);
  const across = framesAcrossUpdates(program, facts);
  for (const f of old.functions) {
    if (!f.direct || !program.functions.has(f.uname)) continue;
    const why = slotReason(program, facts, f.uname, across, callers);
    if (why === undefined) { direct.add(f.uname); continue; }
    const { fn } = program.functions.get(f.uname)!;
    refusals.push({
      code: 4004, category: "error", file: fn.pos.file, line: fn.pos.line,
      message: `${f.name}() is called directly (compiled into its callers) in the running program, but in the new version ${why}: it would need a slot the running program does not have; keep the old shape, or rebuild`,
    });
  }
  return { direct, refusals };
}

/** Direct functions that patch code reaches from the functions it replaces: the patch carries a copy of each. */
export function directCallees(facts: ProgramFacts, direct: ReadonlySet<string>, from: Iterable<string>): Set<string> {
  const out = new Set<string>();
  const todo = [...from];
  while (todo.length) {
    const u = todo.pop()!;
    for (const callee of facts.functions.get(u)?.calls.keys() ?? []) {
      if (direct.has(callee) && !out.has(callee)) { out.add(callee); todo.push(callee); }
    }
  }
  return out;
}
