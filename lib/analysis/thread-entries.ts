/**
 * Which update points each thread of the program can reach: an update is a
 * barrier for every thread (native/runtime/transition.c), so a thread whose
 * code holds no update point makes every update wait for it and be refused
 * at its timeout. Threads are the main thread and each start routine given
 * to pthread_create (facts.threadEntries); a thread reaches the points of
 * every function its start routine may call, through function pointers
 * (every address-taken function) included.
 */
import type { BlockedVerdict, PointVerdict, ThreadVerdict } from "../model/patch-manifest.js";
import type { VdThread } from "../model/version-data.js";
import type { ProgramFacts } from "./facts.js";

export interface ThreadPoints {
  /** The start routine ("main" for the main thread). */
  entry: string;
  /** Program-unique name of the start routine. */
  uname: string;
  /** Where it is started (main: its definition). */
  file: string;
  line: number;
  /** Ids of the update points it may reach, ascending. */
  points: number[];
}

export function threadPoints(facts: ProgramFacts, points: readonly { id: number; uname: string }[]): ThreadPoints[] {
  const reach = (root: string): Set<string> => {
    const seen = new Set([root]);
    const queue = [root];
    while (queue.length) {
      const u = queue.shift()!;
      const ff = facts.functions.get(u) ?? facts.mains.find((m) => m.uname === u);
      if (!ff) continue;
      const next = [...ff.calls.keys(), ...(ff.indirectCalls.length || ff.callbackCalls.length ? facts.addressTaken : [])];
      for (const u of next) if (!seen.has(u)) { seen.add(u); queue.push(u); }
    }
    return seen;
  };
  const pointsOf = (root: string) => {
    const r = reach(root);
    return points.filter((p) => r.has(p.uname)).map((p) => p.id).sort((a, b) => a - b);
  };
  const out: ThreadPoints[] = [];
  for (const m of facts.mains) {
    const pos = m.tu.lines.position(m.fn.begin);
    out.push({ entry: "main", uname: m.uname, file: pos.file, line: pos.line, points: pointsOf(m.uname) });
  }
  for (const [u, pos] of facts.threadEntries) {
    out.push({ entry: facts.functions.get(u)?.fn.name ?? u, uname: u, file: pos.file, line: pos.line, points: pointsOf(u) });
  }
  return out;
}

/** The running version's threads and their points, each with a patch's verdict. */
export function threadVerdicts(threads: readonly VdThread[], safety: readonly PointVerdict[], blocked: readonly BlockedVerdict[] = []): ThreadVerdict[] {
  const safe = new Map(safety.map((s) => [s.id, s.safe]));
  const inEntry = new Map(blocked.map((b) => [b.uname, b]));
  return threads.map((t) => {
    const b = inEntry.get(t.uname);
    return {
      entry: t.entry, file: t.file, line: t.line, points: t.points.map((id) => ({ id, safe: safe.get(id) ?? false })),
      ...(b ? { blockedInEntry: { safe: b.safe, reasons: b.reasons } } : {}),
    };
  });
}
