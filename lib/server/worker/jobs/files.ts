import "server-only";
import fs from "node:fs/promises";
import path from "node:path";
import type { SourceFile } from "../../versions/unpack-archive";
import { resolveInside } from "../../versions/unpack-archive";

/** Writes a version's sources under `dir` (paths were checked at upload, and are checked again here). */
export async function writeSources(dir: string, files: SourceFile[]): Promise<void> {
  for (const f of files) {
    const out = resolveInside(dir, f.path);
    await fs.mkdir(path.dirname(out), { recursive: true });
    await fs.writeFile(out, f.content);
  }
}

/** Turns an engine failure (GraftError with diagnostics) into a job failure that keeps them. */
export class JobFailure extends Error {
  constructor(
    message: string,
    readonly diagnostics: unknown[] = [],
  ) {
    super(message);
  }
}

export function diagnosticsOf(e: unknown): unknown[] {
  const d = (e as { diagnostics?: unknown }).diagnostics;
  return Array.isArray(d) ? d : [];
}
