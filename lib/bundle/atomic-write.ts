/**
 * Writes a file so that readers see the old content or the new, never a
 * half-written bundle: a temporary file in the same directory (rename is
 * atomic only within one file system), flushed, then renamed over.
 */
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export function writeFileAtomic(path: string, content: Buffer, mode = 0o644): void {
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
