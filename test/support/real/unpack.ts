/**
 * The real releases in /work/shared/real (see its README.md): unpack a
 * release tarball into a work directory after checking its digest against
 * SHA256SUMS, and make the one source edit a user of Graft makes, an include
 * of graft.h and one GRAFT_UPDATE_POINT():
 *
 * - vsftpd: at the top of the body of the accept loop of
 *   vsf_standalone_main (standalone.c), reached each time accept() returns,
 *   EINTR included;
 * - memcached: at the end of clock_handler (memcached.c), libevent's
 *   one-second timer, reached even when no client is connected. Built with
 *   threads (`--enable-threads`), the worker threads run no timer: a second
 *   point goes after drive_machine() in event_handler, which every thread
 *   runs for each event on a connection it serves.
 *
 * The edit finds a textual anchor and throws if it is not there: a release
 * whose code moved must fail loudly, not build without an update point.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";

import { REPO_ROOT } from "../build.js";
import { run } from "../process.js";

/** The releases: GRAFT_REAL_DIR, else `../shared/real` beside the checkout (the project's layout), else /work/shared/real. */
export const REAL_DIR = process.env.GRAFT_REAL_DIR
  || [path.resolve(REPO_ROOT, "..", "shared", "real"), "/work/shared/real"].find((d) => existsSync(path.join(d, "SHA256SUMS")))
  || "/work/shared/real";

export type RealProgram = "vsftpd" | "memcached";

/** The releases of each program, oldest first: the update chain. */
export const RELEASES: Record<RealProgram, readonly string[]> = {
  vsftpd: ["2.0.1", "2.0.2", "2.0.3"],
  memcached: ["1.2.2", "1.2.3", "1.2.4"],
};

export const REAL_PROGRAMS: readonly RealProgram[] = ["vsftpd", "memcached"];

export function tarballName(program: RealProgram, version: string): string {
  return `${program}-${version}.tar.gz`;
}

export function tarballPath(program: RealProgram, version: string): string {
  return path.join(REAL_DIR, tarballName(program, version));
}

/** The releases whose tarball is missing from REAL_DIR. */
export function missingTarballs(): string[] {
  const out: string[] = [];
  for (const p of REAL_PROGRAMS) for (const v of RELEASES[p]) if (!existsSync(tarballPath(p, v))) out.push(tarballName(p, v));
  if (!existsSync(path.join(REAL_DIR, "SHA256SUMS"))) out.push("SHA256SUMS");
  return out;
}

/** SHA256SUMS as file name -> hex digest. */
export async function readSha256Sums(dir = REAL_DIR): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const line of (await readFile(path.join(dir, "SHA256SUMS"), "utf8")).split("\n")) {
    const m = /^([0-9a-f]{64})\s+\*?(\S+)$/.exec(line.trim());
    if (m) out.set(m[2], m[1]);
  }
  return out;
}

export class DigestMismatchError extends Error {
  constructor(readonly file: string, readonly expected: string | undefined, readonly actual: string) {
    super(expected === undefined ? `${file}: not listed in SHA256SUMS` : `${file}: sha256 ${actual}, SHA256SUMS says ${expected}`);
    this.name = "DigestMismatchError";
  }
}

/** Throws DigestMismatchError unless the tarball's sha256 is the one SHA256SUMS lists. */
export async function verifyTarball(program: RealProgram, version: string): Promise<string> {
  const file = tarballPath(program, version);
  const actual = createHash("sha256").update(await readFile(file)).digest("hex");
  const expected = (await readSha256Sums()).get(tarballName(program, version));
  if (expected !== actual) throw new DigestMismatchError(file, expected, actual);
  return actual;
}

async function extract(file: string, cwd: string): Promise<void> {
  let tar: typeof import("tar") | undefined;
  try {
    tar = await import("tar");
  } catch {
    tar = undefined;
  }
  if (tar) {
    await tar.x({ file, cwd });
    return;
  }
  const r = await run("tar", ["-xzf", file, "-C", cwd], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`tar -xzf ${file} failed (exit ${r.code}): ${r.stderr}`);
}

export class AnchorNotFoundError extends Error {
  constructor(readonly file: string, readonly anchor: string) {
    super(`${file}: anchor not found: ${anchor} (has the code moved in this release? the update point cannot be placed)`);
    this.name = "AnchorNotFoundError";
  }
}

/** Where the edit goes in each program: the file and the function holding the update point. */
export const UPDATE_POINT_SITE: Record<RealProgram, { file: string; function: string }> = {
  vsftpd: { file: "standalone.c", function: "vsf_standalone_main" },
  memcached: { file: "memcached.c", function: "clock_handler" },
};

const INCLUDE_LINE = '#include "graft.h"';
const POINT_STMT = "GRAFT_UPDATE_POINT();";

function insertAfterLine(text: string, file: string, lineRe: RegExp, what: string, insert: string): string {
  const m = lineRe.exec(text);
  if (!m) throw new AnchorNotFoundError(file, what);
  const eol = text.indexOf("\n", m.index + m[0].length - 1);
  const at = eol < 0 ? text.length : eol + 1;
  return text.slice(0, at) + insert + text.slice(at);
}

/** Index of the `}` closing the `{` at `open` (the two functions edited have no braces in strings or comments). */
function matchingBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === "{") depth++;
    else if (text[i] === "}" && --depth === 0) return i;
  }
  return -1;
}

/**
 * The edited text of UPDATE_POINT_SITE[program].file: graft.h included after
 * the program's own header, the update point placed. Pure; throws
 * AnchorNotFoundError.
 */
export function insertUpdatePoint(program: RealProgram, text: string, opts: { threads?: boolean } = {}): string {
  const file = UPDATE_POINT_SITE[program].file;
  if (text.includes(POINT_STMT)) throw new Error(`${file}: already has ${POINT_STMT}`);
  if (program === "vsftpd") {
    let out = insertAfterLine(text, file, /^#include "standalone\.h"[^\n]*$/m, '#include "standalone.h"', `${INCLUDE_LINE}\n`);
    const fn = /^vsf_standalone_main\(void\)\s*\n\{/m.exec(out);
    if (!fn) throw new AnchorNotFoundError(file, "vsf_standalone_main(void) {");
    const fnOpen = fn.index + fn[0].length - 1;
    const fnClose = matchingBrace(out, fnOpen);
    const loop = /\n([ \t]*)while \(1\)\s*\n[ \t]*\{[^\n]*\n/g;
    loop.lastIndex = fnOpen;
    const l = loop.exec(out);
    if (!l || l.index > fnClose) throw new AnchorNotFoundError(file, "while (1) { in vsf_standalone_main");
    const bodyOpen = out.lastIndexOf("{", l.index + l[0].length);
    const body = out.slice(bodyOpen, matchingBrace(out, bodyOpen));
    if (!body.includes("vsf_sysutil_accept_timeout(")) throw new AnchorNotFoundError(file, "vsf_sysutil_accept_timeout( in the while (1) loop of vsf_standalone_main");
    const at = l.index + l[0].length;
    out = `${out.slice(0, at)}${l[1]}  ${POINT_STMT}\n${out.slice(at)}`;
    return out;
  }
  let out = insertAfterLine(text, file, /^#include "memcached\.h"[^\n]*$/m, '#include "memcached.h"', `${INCLUDE_LINE}\n`);
  const fn = /^static void clock_handler\([^)]*\)\s*\{/m.exec(out);
  if (!fn) throw new AnchorNotFoundError(file, "static void clock_handler(...) {");
  const open = fn.index + fn[0].length - 1;
  const close = matchingBrace(out, open);
  if (close < 0) throw new AnchorNotFoundError(file, "the } closing clock_handler");
  const body = out.slice(open, close);
  if (!/set_current_time\(\);\s*$/.test(body)) throw new AnchorNotFoundError(file, "set_current_time(); as the last statement of clock_handler");
  out = `${out.slice(0, close)}    ${POINT_STMT}\n${out.slice(close)}`;
  if (opts.threads) {
    const eh = /^void event_handler\([^)]*\)\s*\{/m.exec(out);
    if (!eh) throw new AnchorNotFoundError(file, "void event_handler(...) {");
    const ehOpen = eh.index + eh[0].length - 1;
    const drive = /\n([ \t]*)drive_machine\(c\);\n/g;
    drive.lastIndex = ehOpen;
    const d = drive.exec(out);
    if (!d || d.index > matchingBrace(out, ehOpen)) throw new AnchorNotFoundError(file, "drive_machine(c); in event_handler");
    const at = d.index + d[0].length;
    out = `${out.slice(0, at)}${d[1]}${POINT_STMT}\n${out.slice(at)}`;
  }
  return out;
}

export interface UnpackedRelease {
  program: RealProgram;
  version: string;
  /** The release's source tree (workDir/<program>-<version>). */
  dir: string;
  sha256: string;
  /** True when graft.h and the update point were inserted. */
  edited: boolean;
}

export interface UnpackOptions {
  /** Insert graft.h and the update point (default true). */
  updatePoint?: boolean;
  /** memcached built with threads: the workers' update point too. */
  threads?: boolean;
}

/**
 * Verify and unpack program-version into workDir/<program>-<version>
 * (the archives' own top directory), then make the update-point edit.
 */
export async function unpackRelease(program: RealProgram, version: string, workDir: string, opts: UnpackOptions = {}): Promise<UnpackedRelease> {
  const sha256 = await verifyTarball(program, version);
  await mkdir(workDir, { recursive: true });
  const dir = path.join(workDir, `${program}-${version}`);
  if (existsSync(dir)) throw new Error(`${dir} exists: unpack each release into a fresh work directory`);
  await extract(tarballPath(program, version), workDir);
  if (!existsSync(dir)) throw new Error(`${tarballName(program, version)} did not unpack to ${program}-${version}/`);
  const edited = opts.updatePoint ?? true;
  if (edited) {
    const file = path.join(dir, UPDATE_POINT_SITE[program].file);
    await writeFile(file, insertUpdatePoint(program, await readFile(file, "utf8"), { threads: opts.threads }));
  }
  return { program, version, dir, sha256, edited };
}
