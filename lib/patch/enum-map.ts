/**
 * Values of an enum whose constants were renumbered are carried by name: a
 * state stored as BUSY (1) in the running version is BUSY (2) in the next, not
 * whatever 1 names there. Read from the canonical keys of the version data
 * (lib/cfront/types.ts spells an enum `enum E{A=0,B=1}`).
 */

/** The constants of a canonical key that is one enum (qualifiers aside), by name. */
export function enumConstants(canon: string): Map<string, string> | undefined {
  const m = /^(?:(?:const|volatile)\s+)*enum(?:\s+\w+)?\{([^{}]*)\}$/.exec(canon.trim());
  if (!m) return undefined;
  const out = new Map<string, string>();
  for (const part of m[1].split(",").filter(Boolean)) {
    const [name, value] = part.split("=");
    if (name && value !== undefined) out.set(name.trim(), value.trim());
  }
  return out;
}

/**
 * A C expression that converts `expr`, a value of the old enum, to the new
 * one's number for the same name; undefined when the keys are not two
 * spellings of one renumbered enum. Old constants the new enum dropped keep
 * their number, and are named in `dropped`.
 */
export function enumConversion(oldCanon: string | undefined, newCanon: string | undefined, expr: string): { expr: string; dropped: string[] } | undefined {
  if (!oldCanon || !newCanon || oldCanon === newCanon) return undefined;
  const a = enumConstants(oldCanon), b = enumConstants(newCanon);
  if (!a || !b) return undefined;
  const arms: string[] = [];
  const dropped: string[] = [];
  for (const [name, v] of a) {
    const w = b.get(name);
    if (w === undefined) dropped.push(name);
    else if (w !== v) arms.push(`__graft_e == ${v} ? ${w} : `);
  }
  if (!arms.length) return undefined;
  return { expr: `({ long long __graft_e = (long long)(${expr}); ${arms.join("")}__graft_e; })`, dropped };
}
