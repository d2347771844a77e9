/**
 * Every function of the program has its code in a section of its own, named
 * for its id, and a table entry with that section's bounds (graft_abi.h,
 * grt_fn_range): with them the runtime finds the innermost function of the
 * program on a blocked thread's stack (native/runtime/blocked.c), exactly,
 * whatever else the executable holds. The id is the same in every build of
 * the program, so a patch can say which functions a thread may wait in.
 */

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK = (1n << 64n) - 1n;

/** FNV-1a, 64 bits, of the function's uname, as 16 hex digits. */
export function functionId(uname: string): string {
  let h = FNV_OFFSET;
  for (const b of Buffer.from(uname, "utf8")) h = ((h ^ BigInt(b)) * FNV_PRIME) & MASK;
  return h.toString(16).padStart(16, "0");
}

/** Goes before a function's definition. */
export function sectionAttribute(uname: string): string {
  return `__attribute__((section("graft_f_${functionId(uname)}"))) `;
}

/** The prelude's copy of grt_fn_range (same layout). */
export const FN_RANGE_STRUCT = "struct __graft_fn_range { const char *begin; const char *end; unsigned long long id; const char *name; };";

/**
 * The unit's entries, in section graft_fntab: the linker gathers every
 * unit's into one table, bounded by __start_graft_fntab and
 * __stop_graft_fntab. The bounds of each function's section are weak: a
 * function the compiler emitted no code for has none, and its entry is 0.
 */
export function rangeTable(unames: readonly string[]): string {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const u of unames) {
    const id = functionId(u);
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(
      `extern const char __start_graft_f_${id}[] __attribute__((weak, visibility("hidden")));`,
      `extern const char __stop_graft_f_${id}[] __attribute__((weak, visibility("hidden")));`,
      `static const struct __graft_fn_range __graft_fr_${id} __attribute__((used, section("graft_fntab"), aligned(8))) = { __start_graft_f_${id}, __stop_graft_f_${id}, 0x${id}ull, ${JSON.stringify(u)} };`,
    );
  }
  return out.length ? `\n/* graft: the bounds of this unit's functions (lib/compile/function-sections.ts) */\n${out.join("\n")}\n` : "";
}
