/**
 * The bundle manifest: the text that is signed (docs/bundle-format.md).
 *
 * The parser accepts exactly what formatManifest writes and nothing else:
 * one spelling per manifest, so the C reader and this one cannot disagree
 * about what a signed manifest means. It runs only on bytes whose signature
 * has already been checked.
 */
import { FILE_NAME_PATTERN, FORMAT_VERSION, MANIFEST_FORMAT_LINE, MAX_FILES, MAX_MANIFEST_BYTES, REQUIRED_FILE } from "./constants.js";
import type { BundleFileEntry, BundleManifest } from "./types.js";

const DIGEST = /^[0-9a-f]{64}$/;
/** Decimal without sign or leading zeros, so each number has one spelling. */
const DECIMAL = /^(0|[1-9][0-9]*)$/;
/** Checked for shape only, as bundle.c does: it is informative, never compared. */
const CREATED = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
/** A word of a space-separated line: printable ASCII without the space. */
const PROGRAM_NAME = /^[!-~]{1,255}$/;

export type ManifestParseResult = { ok: true; manifest: BundleManifest } | { ok: false; reason: string };

/** Seconds precision, UTC, as the manifest spells it. */
export function formatCreated(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Why a manifest cannot be written, or undefined if it can. */
export function checkManifest(m: BundleManifest): string | undefined {
  if (!PROGRAM_NAME.test(m.program)) return `program name ${JSON.stringify(m.program)} is not one printable word`;
  if (!DIGEST.test(m.base)) return "base is not 64 lowercase hex characters";
  if (!DIGEST.test(m.target)) return "target is not 64 lowercase hex characters";
  if (!Number.isSafeInteger(m.sequence) || m.sequence < 0) return `sequence ${m.sequence} is not a non-negative integer`;
  if (!CREATED.test(m.created)) return `created ${m.created} is not YYYY-MM-DDTHH:MM:SSZ`;
  if (m.files.length === 0) return "no files";
  if (m.files.length > MAX_FILES) return `more than ${MAX_FILES} files`;
  const seen = new Set<string>();
  for (const f of m.files) {
    if (!FILE_NAME_PATTERN.test(f.name)) return `file name ${JSON.stringify(f.name)} is not plain`;
    if (seen.has(f.name)) return `file ${f.name} is listed twice`;
    seen.add(f.name);
    if (!Number.isSafeInteger(f.size) || f.size < 0) return `file ${f.name} has an impossible size`;
    if (!DIGEST.test(f.sha256)) return `file ${f.name} digest is not 64 lowercase hex characters`;
  }
  if (!seen.has(REQUIRED_FILE)) return `${REQUIRED_FILE} is not listed`;
  return undefined;
}

/** The exact bytes to sign. Throws on a manifest that could not be parsed back. */
export function formatManifest(m: BundleManifest): Buffer {
  const problem = checkManifest(m);
  if (problem) throw new Error(`cannot write bundle manifest: ${problem}`);
  const lines = [
    MANIFEST_FORMAT_LINE,
    `program ${m.program}`,
    `base ${m.base}`,
    `target ${m.target}`,
    `sequence ${m.sequence}`,
    `created ${m.created}`,
    ...m.files.map((f) => `file ${f.name} ${f.size} ${f.sha256}`),
  ];
  const bytes = Buffer.from(lines.join("\n") + "\n", "utf8");
  if (bytes.length > MAX_MANIFEST_BYTES) throw new Error("cannot write bundle manifest: larger than 1 MiB");
  return bytes;
}

/** Parses manifest bytes; every failure says which line and what is wrong. */
export function parseManifest(bytes: Buffer): ManifestParseResult {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return fail("manifest is not valid UTF-8");
  }
  if (!text.endsWith("\n")) return fail("manifest does not end with a newline");
  const lines = text.slice(0, -1).split("\n");

  const fixed: Array<[key: string, check: (v: string) => boolean]> = [
    ["program", (v) => PROGRAM_NAME.test(v)],
    ["base", (v) => DIGEST.test(v)],
    ["target", (v) => DIGEST.test(v)],
    ["sequence", (v) => DECIMAL.test(v) && Number.isSafeInteger(Number(v))],
    ["created", (v) => CREATED.test(v)],
  ];
  if (lines[0] !== MANIFEST_FORMAT_LINE) {
    return fail(`manifest line 1: expected "${MANIFEST_FORMAT_LINE}", found ${quote(lines[0])}`);
  }
  const values: Record<string, string> = {};
  for (let i = 0; i < fixed.length; i++) {
    const [key, check] = fixed[i];
    const line = lines[i + 1];
    if (line === undefined) return fail(`manifest ends before the ${key} line`);
    const m = /^([a-z]+) (.*)$/s.exec(line);
    if (!m || m[1] !== key) return fail(`manifest line ${i + 2}: expected "${key} ...", found ${quote(line)}`);
    if (!check(m[2])) return fail(`manifest line ${i + 2}: malformed ${key} ${quote(m[2])}`);
    values[key] = m[2];
  }

  const files: BundleFileEntry[] = [];
  const seen = new Set<string>();
  for (let i = fixed.length + 1; i < lines.length; i++) {
    const words = lines[i].split(" ");
    const where = `manifest line ${i + 1}`;
    if (words[0] !== "file" || words.length !== 4) return fail(`${where}: expected "file NAME SIZE SHA256", found ${quote(lines[i])}`);
    const [, name, size, sha256] = words;
    if (!FILE_NAME_PATTERN.test(name)) return fail(`${where}: file name ${quote(name)} is not plain`);
    if (seen.has(name)) return fail(`${where}: file ${name} is listed twice`);
    if (files.length === MAX_FILES) return fail(`${where}: more than ${MAX_FILES} files`);
    if (!DECIMAL.test(size) || !Number.isSafeInteger(Number(size))) return fail(`${where}: malformed size ${quote(size)}`);
    if (!DIGEST.test(sha256)) return fail(`${where}: malformed sha256 ${quote(sha256)}`);
    seen.add(name);
    files.push({ name, size: Number(size), sha256 });
  }
  if (files.length === 0) return fail("manifest lists no files");
  if (!seen.has(REQUIRED_FILE)) return fail(`manifest does not list ${REQUIRED_FILE}`);

  return {
    ok: true,
    manifest: {
      formatVersion: FORMAT_VERSION,
      program: values.program,
      base: values.base,
      target: values.target,
      sequence: Number(values.sequence),
      created: values.created,
      files,
    },
  };
}

function fail(reason: string): ManifestParseResult {
  return { ok: false, reason };
}

/** Quotes a piece of manifest for a message, short and free of control bytes. */
function quote(s: string | undefined): string {
  if (s === undefined) return "nothing";
  const cut = s.length > 60 ? `${s.slice(0, 60)}...` : s;
  return JSON.stringify(cut);
}
