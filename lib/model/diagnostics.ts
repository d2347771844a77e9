/**
 * Diagnostics shared by every stage. Codes come in bands, as in the
 * TypeScript compiler: 1xxx cfront, 2xxx analysis, 3xxx compile, 4xxx patch
 * refusals, 5xxx bundle/signature, 6xxx runtime/apply, 7xxx server/upload.
 */
export type DiagnosticCategory = "error" | "warning" | "info";

export interface Diagnostic {
  code: number;
  category: DiagnosticCategory;
  message: string;
  file?: string;
  line?: number;
  column?: number;
}

/** Thrown when a stage cannot go on; carries every reason it collected. */
export class GraftError extends Error {
  readonly diagnostics: Diagnostic[];
  readonly exitCode: number;
  constructor(message: string, diagnostics: Diagnostic[] = [], exitCode = 1) {
    super(message);
    this.name = "GraftError";
    this.diagnostics = diagnostics;
    this.exitCode = exitCode;
  }
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = d.file ? `${d.file}${d.line ? `:${d.line}${d.column ? `:${d.column}` : ""}` : ""}: ` : "";
  return `${where}${d.category} GR${d.code}: ${d.message}`;
}

export function hasErrors(ds: readonly Diagnostic[]): boolean {
  return ds.some((d) => d.category === "error");
}
