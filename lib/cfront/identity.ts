/**
 * Identity across versions. A function or static is known by its
 * program-unique name: its own name, or for a static its file's stem and its
 * name. Two edits of a release change that spelling but not what the thing is:
 *
 * - a file renamed (vsftpd 2.0.3: ipv6parse.c -> ipaddrparse.c): its statics
 *   keep their identity when the new file defines most of the old file's
 *   static functions (the new unit takes the old stem);
 * - a function made static or no longer static in the same file (memcached
 *   1.2.3: `inline void process_stats_detail` -> `inline static void`): it
 *   keeps the running version's name, so its slot is the one that is switched.
 *
 * Each inference is reported, for the reviewer to see.
 */
import type { TranslationUnit } from "./translation-unit.js";

/** What the running version knew its functions by. */
export interface PreviousNames {
  functions: { uname: string; name: string; file: string; isStatic: boolean }[];
}

/** Applies the inferences to freshly scanned units (before they are joined); returns one line per inference. */
export function carryIdentities(units: TranslationUnit[], previous: PreviousNames): string[] {
  const notes: string[] = [];
  const stemOfStatic = (f: { uname: string; name: string }) => f.uname.slice(0, f.uname.length - f.name.length - 2);
  const oldStatics = new Map<string, Set<string>>();
  const oldFile = new Map<string, string>();
  for (const f of previous.functions) if (f.isStatic && f.uname.endsWith(`__${f.name}`)) {
    const stem = stemOfStatic(f);
    oldStatics.set(stem, (oldStatics.get(stem) ?? new Set()).add(f.name));
    oldFile.set(stem, f.file);
  }

  // ---- renamed files ------------------------------------------------------
  const newStems = new Set(units.map((u) => u.stem));
  const gone = [...oldStatics.keys()].filter((s) => !newStems.has(s));
  const taken = new Set<string>();
  for (const tu of units) {
    if (oldStatics.has(tu.stem) || !gone.length) continue;
    const mine = new Set(tu.functions.filter((f) => f.isStatic && !f.extracted).map((f) => f.name));
    let best: { stem: string; shared: number } | undefined;
    for (const stem of gone) {
      if (taken.has(stem)) continue;
      const shared = [...oldStatics.get(stem)!].filter((n) => mine.has(n)).length;
      if (shared * 2 >= oldStatics.get(stem)!.size && shared > 0 && (!best || shared > best.shared)) best = { stem, shared };
    }
    if (!best) continue;
    taken.add(best.stem);
    notes.push(`${tu.source} is taken for the running version's ${oldFile.get(best.stem)}, renamed: it defines ${best.shared} of its ${oldStatics.get(best.stem)!.size} static functions, whose state and slots carry over`);
    tu.stem = best.stem;
  }

  // ---- linkage changed in place -------------------------------------------
  const byUname = new Map(previous.functions.map((f) => [f.uname, f]));
  for (const tu of units) for (const fn of tu.functions) {
    if (fn.extracted || fn.name === "main") continue;
    const own = fn.isStatic ? `${tu.stem}__${fn.name}` : fn.name;
    if (byUname.has(own)) continue;
    const other = fn.isStatic ? fn.name : `${tu.stem}__${fn.name}`;
    const was = byUname.get(other);
    if (!was || was.file !== fn.pos.file) continue;
    fn.identity = other;
    notes.push(`${fn.name}() in ${fn.pos.file} is ${fn.isStatic ? "static" : "no longer static"} now: it is the running version's ${fn.name}(), and replaces it`);
  }
  return notes;
}
