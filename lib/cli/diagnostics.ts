/**
 * Diagnostics the CLI itself raises (band 6xxx: delivering to a running
 * process). They move to lib/model/diagnostics/messages.json with the rest.
 */
import { GraftError } from "../model/diagnostics.js";

export const CliDiagnostics = {
  Cannot_reach_process: 6001,
  Patch_not_deliverable: 6002,
  Unexpected_arguments: 6003,
  Push_failed: 6004,
} as const;

type CliDiagnosticCode = (typeof CliDiagnostics)[keyof typeof CliDiagnostics];

export function createCliError(code: CliDiagnosticCode, message: string, file?: string): GraftError {
  // All of these are the user's to fix (a pid, a path, a server address, a token): exit 2, never 1.
  return new GraftError(message, [{ code, category: "error", message, ...(file === undefined ? {} : { file }) }], 2);
}
