/**
 * Exit codes, as kpatch-build uses them: a refused patch is not a crash, and
 * "nothing changed" is not a failure a script should retry.
 */
export const ExitCode = {
  /** Done. */
  Ok: 0,
  /** Internal error, bad usage, or something the command could not reach. */
  Error: 1,
  /** Refused: the patch, the bundle or the apply was judged unsafe or untrusted. */
  Refused: 2,
  /** No change between the versions: nothing to patch. */
  NoChange: 3,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
