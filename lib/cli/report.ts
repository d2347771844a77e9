/**
 * Turning outcomes into output and an exit code, in one place: diagnostics
 * with their codes, GraftError's own exit code, and internal errors with
 * the function and line they came from.
 */
import { formatDiagnostic, GraftError, type Diagnostic } from "../model/diagnostics.js";
import type { CliContext } from "./context.js";
import { ExitCode } from "./exit-codes.js";

export function printDiagnostics(ctx: CliContext, diagnostics: readonly Diagnostic[]): void {
  for (const d of diagnostics) ctx.err(formatDiagnostic(d));
}

/** Prints an error thrown by a command and returns the exit code it means. */
export function reportError(ctx: CliContext, command: string, e: unknown): number {
  if (e instanceof GraftError || isGraftErrorLike(e)) {
    printDiagnostics(ctx, e.diagnostics);
    // The message repeats a lone diagnostic; print it only when it adds something.
    const only = e.diagnostics.length === 1 ? e.diagnostics[0].message : undefined;
    if (only === undefined || !e.message.includes(only)) ctx.err(`graft ${command}: ${e.message}`);
    if (ctx.debug && e.stack) ctx.err(e.stack);
    return e.exitCode;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  ctx.err(`graft ${command}: internal error${whereThrown(err)}: ${err.message}`);
  ctx.err(ctx.debug ? (err.stack ?? "(no stack)") : "run with --debug for the stack trace");
  return ExitCode.Error;
}

/**
 * GraftError from another copy of lib/model (tsx can load a module twice
 * under different URLs) fails instanceof; its shape is what matters.
 */
function isGraftErrorLike(e: unknown): e is GraftError {
  return e instanceof Error && e.name === "GraftError" && Array.isArray((e as GraftError).diagnostics) && typeof (e as GraftError).exitCode === "number";
}

/** " in fn (file:line)" from the first stack frame, kpatch's ERROR() habit. */
function whereThrown(err: Error): string {
  const frame = err.stack?.split("\n").find((l) => l.trimStart().startsWith("at "));
  if (!frame) return "";
  const m = /at (?:(.+?) \()?(?:file:\/\/)?(.+?):(\d+):\d+\)?$/.exec(frame.trim());
  if (!m) return "";
  const file = m[2].replace(/^.*\/(lib|bin|node_modules)\//, "$1/");
  return m[1] ? ` in ${m[1]} (${file}:${m[3]})` : ` at ${file}:${m[3]}`;
}
