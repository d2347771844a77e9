/**
 * Exit codes, as kpatch-build uses them: a refused patch is not a crash, and
 * "nothing changed" is not a failure a script should retry.
 */
export const ExitCode = {
  /** Done. */
  Ok: 0,
  /** Internal error: a bug in Graft (an exception nobody expected, gcc refusing Graft's own output). */
  Error: 1,
  /**
   * Refused: the patch, the bundle or the apply was judged unsafe or
   * untrusted; or bad input (usage, a path, a value, a pid or server that
   * cannot be reached): anything the user is to fix.
   */
  Refused: 2,
  /** No change between the versions: nothing to patch. */
  NoChange: 3,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
