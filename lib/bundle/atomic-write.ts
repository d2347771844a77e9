/**
 * Writes a file so that readers see the old content or the new, never a
 * half-written bundle: a temporary file in the same directory (rename is
 * atomic only within one file system), flushed, then renamed over.
 */
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, lstatSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { BundleDiagnostics, failBundle } from "./diagnostics.js";

/**
 * The rename replaces whatever has the name: run as root with `-o /dev/null`
 * it would replace the device with a file. Only a regular file (or a link,
 * which the rename replaces, not its target) may be replaced.
 */
function checkReplaceable(path: string): void {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return; // absent (or unreachable: the open below says why)
  }
  if (!st.isFile() && !st.isSymbolicLink()) failBundle(BundleDiagnostics.Output_not_replaceable, "exists and is not a regular file: refusing to replace it", path);
}

export function writeFileAtomic(path: string, content: Buffer, mode = 0o644): void {
  checkReplaceable(path);
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const fd = openSync(temp, "wx", mode);
  try {
    try {
      let off = 0;
      while (off < content.length) off += writeSync(fd, content, off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (e) {
    try {
      unlinkSync(temp);
    } catch {
      // Already renamed or never created: nothing to clean.
    }
    throw e;
  }
}
