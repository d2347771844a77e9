/**
 * Splits the words after `--` into compiler and linker flags, so that
 * `graft compile a.c -- -O2 -Iinc -lm -pthread` passes each to the right
 * gcc step.
 */
export interface ToolFlags {
  cflags: string[];
  ldflags: string[];
}

/** Libraries and linker options; -pthread is both (it defines macros and links). */
function isLinkerWord(word: string): boolean {
  return (
    word.startsWith("-l") ||
    word.startsWith("-L") ||
    word.startsWith("-Wl,") ||
    word.startsWith("-pthread") ||
    /\.(a|so)(\.[0-9]+)*$/.test(word)
  );
}

export function splitToolFlags(words: readonly string[]): ToolFlags {
  const flags: ToolFlags = { cflags: [], ldflags: [] };
  for (const word of words) {
    if (word === "-pthread") {
      flags.cflags.push(word);
      flags.ldflags.push(word);
    } else if (isLinkerWord(word)) {
      flags.ldflags.push(word);
    } else {
      flags.cflags.push(word);
    }
  }
  return flags;
}
