/**
 * Wraps a command's work so that every command reports errors and sets its
 * exit code the same way. The work returns an exit code; anything thrown
 * goes through reportError.
 */
import type { CliContext } from "./context.js";
import { reportError } from "./report.js";

export function defineAction<A extends unknown[]>(
  ctx: CliContext,
  command: string,
  work: (...args: A) => number | Promise<number>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      ctx.exitCode = await work(...args);
    } catch (e) {
      ctx.exitCode = reportError(ctx, command, e);
    }
  };
}
