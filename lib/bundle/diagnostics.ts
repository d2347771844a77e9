/**
 * The bundle stage's diagnostics (band 5xxx). Kept together so each message
 * has one code; they move to lib/model/diagnostics/messages.json when that
 * table exists.
 */
import { GraftError, type Diagnostic } from "../model/diagnostics.js";

export const BundleDiagnostics = {
  Public_key_file_unreadable: 5001,
  Public_key_file_malformed: 5002,
  Private_key_unreadable: 5003,
  Private_key_malformed: 5004,
  Key_file_exists: 5005,
  Patch_dir_incomplete: 5006,
  Patch_manifest_invalid: 5007,
  Bundle_refused: 5008,
  Private_key_permissions_too_open: 5009,
  Bundle_unreadable: 5010,
  Key_dir_unusable: 5011,
  Output_not_replaceable: 5012,
} as const;

export type BundleDiagnosticCode = (typeof BundleDiagnostics)[keyof typeof BundleDiagnostics];

export function createBundleDiagnostic(
  code: BundleDiagnosticCode,
  message: string,
  file?: string,
  category: Diagnostic["category"] = "error",
): Diagnostic {
  return { code, category, message, ...(file === undefined ? {} : { file }) };
}

/** Throws one error diagnostic: bad input given to the bundle stage. */
export function failBundle(code: BundleDiagnosticCode, message: string, file?: string): never {
  const d = createBundleDiagnostic(code, message, file);
  // Every bundle diagnostic is about the caller's input (a key, a bundle, a patch directory): exit 2.
  throw new GraftError(file ? `${file}: ${message}` : message, [d], 2);
}
