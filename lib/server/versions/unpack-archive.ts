import "server-only";
import path from "node:path";
import zlib from "node:zlib";
import { Parser, type ReadEntry } from "tar";
import { AppError } from "../errors";

/** Limits for an uploaded source archive. */
export const ARCHIVE_LIMITS = {
  compressedBytes: 5 * 1024 * 1024,
  unpackedBytes: 20 * 1024 * 1024,
  fileBytes: 2 * 1024 * 1024,
  entries: 2000,
};

export interface SourceFile {
  path: string;
  content: string;
}

export interface UnpackedArchive {
  files: SourceFile[];
  /** .c files, relative to the archive root */
  cfiles: string[];
  /** Files left out (binary), for the uploader to see. */
  skipped: string[];
}

function refuse(reason: string): never {
  throw new AppError("bad-archive", `The upload was refused: ${reason}.`);
}

/** A path inside the archive, normalised; refuses anything that could land outside it. */
export function safeArchivePath(raw: string): string {
  const p = raw.replace(/^\.\/+/, "");
  if (p.includes("\0") || p.includes("\\")) refuse(`the path "${raw}" has a forbidden character`);
  if (p.startsWith("/") || /^[A-Za-z]:/.test(p)) refuse(`the path "${raw}" escapes the archive (absolute path)`);
  const parts = p.split("/").filter((s) => s !== "" && s !== ".");
  if (parts.some((s) => s === "..")) refuse(`the path "${raw}" escapes the archive`);
  return parts.join("/");
}

/**
 * Reads a .tar.gz (or .tar) upload entirely in memory and checks it: a real
 * archive, no path escaping it (absolute, `..`, links), within the size
 * limits, with at least one .c file. Nothing is written to disk.
 */
export async function unpackSourceArchive(bytes: Buffer): Promise<UnpackedArchive> {
  if (bytes.length === 0) refuse("the file is empty");
  if (bytes.length > ARCHIVE_LIMITS.compressedBytes) throw new AppError("too-large", `The upload was refused: the archive is larger than ${ARCHIVE_LIMITS.compressedBytes >> 20} MiB.`);
  let tarBytes = bytes;
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      tarBytes = zlib.gunzipSync(bytes, { maxOutputLength: ARCHIVE_LIMITS.unpackedBytes + 1024 * 1024 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") throw new AppError("too-large", `The upload was refused: it unpacks to more than ${ARCHIVE_LIMITS.unpackedBytes >> 20} MiB.`);
      refuse("it is not a valid gzip file");
    }
  }
  // A tar file has "ustar" at offset 257 of its first header.
  if (tarBytes.length < 512 || tarBytes.subarray(257, 262).toString("latin1") !== "ustar") refuse("it is not a .tar.gz archive");

  const entries: { path: string; data: Buffer }[] = [];
  let total = 0;
  let problem: AppError | null = null;
  await new Promise<void>((resolve, reject) => {
    const parser = new Parser({
      strict: true,
      onReadEntry(entry: ReadEntry) {
        try {
          if (problem) return entry.resume();
          if (entries.length >= ARCHIVE_LIMITS.entries) refuse(`it has more than ${ARCHIVE_LIMITS.entries} entries`);
          const p = safeArchivePath(entry.path);
          if (entry.type === "Directory" || p === "") return entry.resume();
          if (entry.type === "SymbolicLink" || entry.type === "Link") refuse(`"${entry.path}" is a link (links could point outside the archive)`);
          if (entry.type !== "File" && entry.type !== "OldFile" && entry.type !== "ContiguousFile") {
            // pax headers and the like are handled by the parser; anything else is refused
            refuse(`"${entry.path}" is not a regular file`);
          }
          if ((entry.size ?? 0) > ARCHIVE_LIMITS.fileBytes) throw new AppError("too-large", `The upload was refused: "${p}" is larger than ${ARCHIVE_LIMITS.fileBytes >> 20} MiB.`);
          total += entry.size ?? 0;
          if (total > ARCHIVE_LIMITS.unpackedBytes) throw new AppError("too-large", `The upload was refused: it unpacks to more than ${ARCHIVE_LIMITS.unpackedBytes >> 20} MiB.`);
          const chunks: Buffer[] = [];
          entry.on("data", (c: Buffer) => chunks.push(c));
          entry.on("end", () => entries.push({ path: p, data: Buffer.concat(chunks) }));
        } catch (e) {
          problem = e instanceof AppError ? e : new AppError("bad-archive");
          entry.resume();
        }
      },
    });
    parser.on("error", (e: Error) => reject(e));
    parser.on("warn", (_code: string, message: string) => {
      problem ??= new AppError("bad-archive", `The upload was refused: it is not a valid archive (${message}).`);
    });
    parser.on("end", () => resolve());
    parser.end(tarBytes);
  }).catch((e) => {
    if (e instanceof AppError) throw e;
    refuse("it is not a valid archive");
  });
  if (problem) throw problem;

  // Strip one common top-level folder (kvd-v1/main.c -> main.c).
  const tops = new Set(entries.map((e) => e.path.split("/")[0]));
  const strip = tops.size === 1 && entries.every((e) => e.path.includes("/")) ? [...tops][0] + "/" : "";
  const files: SourceFile[] = [];
  const skipped: string[] = [];
  const seen = new Set<string>();
  for (const e of entries) {
    const p = e.path.slice(strip.length);
    if (seen.has(p)) refuse(`"${p}" appears twice`);
    seen.add(p);
    const text = e.data.toString("utf8");
    if (e.data.includes(0) || Buffer.from(text, "utf8").length !== e.data.length) {
      if (p.endsWith(".c") || p.endsWith(".h")) refuse(`"${p}" is not a UTF-8 text file`);
      skipped.push(p);
      continue;
    }
    files.push({ path: p, content: text });
  }
  files.sort((a, b) => a.path.localeCompare(b.path));
  const cfiles = files.filter((f) => f.path.endsWith(".c")).map((f) => f.path);
  if (cfiles.length === 0) refuse("it holds no .c files");
  return { files, cfiles, skipped };
}

/** Where a source file lands inside a build directory (checked again at write time). */
export function resolveInside(dir: string, rel: string): string {
  const out = path.resolve(dir, safeArchivePath(rel));
  if (!out.startsWith(path.resolve(dir) + path.sep)) refuse(`the path "${rel}" escapes the archive`);
  return out;
}
