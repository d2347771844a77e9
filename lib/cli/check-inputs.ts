/**
 * What a command is given, checked before any work starts: every source is
 * a readable `.c` file, an output directory is a directory (or can be one)
 * outside the kernel's pseudo-file systems, an input file exists. A mistyped
 * path then costs one clear line and exit 2, not a stack trace after the
 * whole build (or a hang on a write to /proc).
 */
import { statSync } from "node:fs";
import path from "node:path";

import { GraftError } from "../model/diagnostics.js";

export const BAD_INPUT = 6005;

function bad(message: string, file: string): never {
  throw new GraftError(message, [{ code: BAD_INPUT, category: "error", message, file }], 2);
}

function statOf(p: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    return bad(`cannot read it (${code ?? String(e)})`, p);
  }
}

export function checkSourceFiles(files: readonly string[], cwd: string): void {
  for (const f of files) {
    const p = path.resolve(cwd, f);
    const st = statOf(p);
    if (st?.isDirectory()) bad("is a directory: name the .c files in it", f);
    if (!f.endsWith(".c")) bad("not a C source: sources are .c files (headers are found through -I)", f);
    if (!st) bad("no such file", f);
    if (!st.isFile()) bad("not a regular file", f);
  }
}

/** Pseudo-file systems where a build's output has no place (writes there can block or mean something else). */
const PSEUDO_ROOTS = ["/proc", "/sys", "/dev"];

export function checkOutputDir(dir: string, cwd: string, option = "-o"): void {
  const p = path.resolve(cwd, dir);
  if (PSEUDO_ROOTS.some((r) => p === r || p.startsWith(`${r}/`))) bad(`${option}: ${p} is in a kernel pseudo-file system, not a place for output`, dir);
  const st = statOf(p);
  if (st && !st.isDirectory()) bad(`${option}: exists and is not a directory`, dir);
}

export function checkInputFile(file: string, cwd: string, option: string): void {
  const st = statOf(path.resolve(cwd, file));
  if (!st) bad(`${option}: no such file`, file);
  if (!st.isFile()) bad(`${option}: not a regular file`, file);
}

export function checkInputDir(dir: string, cwd: string, option: string): void {
  const st = statOf(path.resolve(cwd, dir));
  if (!st) bad(`${option}: no such directory`, dir);
  if (!st.isDirectory()) bad(`${option}: not a directory`, dir);
}

/**
 * The program's name names its executable and version data in the output
 * directory and travels in every bundle: a file name, never a path.
 */
export function checkProgramName(name: string): void {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,63}$/.test(name))
    throw new GraftError(`--name ${JSON.stringify(name)}: a program name is 1 to 64 letters, digits and _ . + - (it names the executable)`, [
      { code: BAD_INPUT, category: "error", message: `--name ${JSON.stringify(name)}: a program name is 1 to 64 letters, digits and _ . + - (it names the executable)` },
    ], 2);
}

/** An output file: not in a pseudo-file system, and, when it exists, a regular file (never a device a rename would replace). */
export function checkOutputFile(file: string, cwd: string, option = "-o"): void {
  const p = path.resolve(cwd, file);
  if (PSEUDO_ROOTS.some((r) => p === r || p.startsWith(`${r}/`))) bad(`${option}: ${p} is in a kernel pseudo-file system, not a place for output`, file);
  const st = statOf(p);
  if (st?.isDirectory()) bad(`${option}: is a directory: name the file to write`, file);
  if (st && !st.isFile()) bad(`${option}: exists and is not a regular file`, file);
}
