/**
 * Reading a file the user named, without ever hanging: a FIFO or a device
 * (`/dev/zero`, a terminal) given where a file belongs would block open() or
 * never reach its end. The file is opened non-blocking, must be a regular
 * file, and must fit its limit; errors say which, in words (no errno codes).
 */
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";

export class InputFileError extends Error {
  constructor(
    message: string,
    /** The errno code when the system refused (ENOENT, EACCES, ...), else undefined. */
    readonly code?: string,
  ) {
    super(message);
    this.name = "InputFileError";
  }
}

const KIND: [(m: number) => boolean, string][] = [
  [(m) => (m & constants.S_IFMT) === constants.S_IFDIR, "a directory"],
  [(m) => (m & constants.S_IFMT) === constants.S_IFIFO, "a FIFO"],
  [(m) => (m & constants.S_IFMT) === constants.S_IFCHR, "a character device"],
  [(m) => (m & constants.S_IFMT) === constants.S_IFBLK, "a block device"],
  [(m) => (m & constants.S_IFMT) === constants.S_IFSOCK, "a socket"],
];

function errnoWords(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case "ENOENT": return "no such file";
    case "EACCES": return "permission denied";
    case "EISDIR": return "is a directory, not a file";
    case "ENOTDIR": return "a component of the path is not a directory";
    case "ELOOP": return "too many symbolic links (a loop?)";
    case "ENAMETOOLONG": return "the path is too long";
    default: return e.message;
  }
}

export interface InputFile {
  bytes: Buffer;
  /** st_mode & 0o777 */
  mode: number;
}

/** Reads a regular file of at most `maxBytes`, or throws InputFileError. */
export function readInputFile(path: string, maxBytes: number): InputFile {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    throw new InputFileError(errnoWords(e as NodeJS.ErrnoException), (e as NodeJS.ErrnoException).code);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new InputFileError(`not a regular file (${KIND.find(([is]) => is(st.mode))?.[1] ?? "a special file"})`);
    if (st.size > maxBytes) throw new InputFileError(`too big (${st.size} bytes; at most ${maxBytes})`);
    // Read to the end, not to st.size: a file that grows while read is cut at the limit, never read forever.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.alloc(Math.min(1 << 20, maxBytes + 1 - total));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
      if (total > maxBytes) throw new InputFileError(`too big (more than ${maxBytes} bytes)`);
    }
    return { bytes: Buffer.concat(chunks, total), mode: st.mode & 0o777 };
  } catch (e) {
    if (e instanceof InputFileError) throw e;
    throw new InputFileError(errnoWords(e as NodeJS.ErrnoException), (e as NodeJS.ErrnoException).code);
  } finally {
    closeSync(fd);
  }
}

/** Limits, generous for real inputs and far below what would exhaust memory. */
export const INPUT_LIMITS = {
  /** graft.pub is one line, graft.key a short PEM. */
  key: 64 * 1024,
  /** a bundle, a patch.so, version data, a transformer file */
  bundle: 512 * 1024 * 1024,
  versionData: 512 * 1024 * 1024,
  source: 64 * 1024 * 1024,
} as const;
