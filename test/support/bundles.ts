/**
 * Signed patch bundles for the integration tests (docs/bundle-format.md):
 * running the `graft` command as a user would, and reading, rewriting and
 * re-signing a bundle's bytes.
 *
 * The byte layout and the signature are implemented here again from the
 * document, on purpose without lib/bundle: a test that tampers with a bundle
 * through the library it is testing would share that library's mistakes, and
 * a second reading of the document shows where the document is unclear.
 */
import { createHash, createPrivateKey, createPublicKey, sign, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";

import type { CliContext } from "../../lib/cli/context.js";
import { main } from "../../lib/cli/main.js";
import { REPO_ROOT } from "./build.js";
import { run } from "./process.js";

// ------------------------------------------------------------ the command

export const GRAFT_BIN = path.join(REPO_ROOT, "bin", "graft.mjs");

export interface CliRun {
  args: string[];
  /** Exit code; -1 when killed by a signal or the time limit. */
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** `node bin/graft.mjs ARGS`, to completion. Never rejects on a non-zero exit. */
export async function graftCli(args: readonly string[], opts: CliOptions = {}): Promise<CliRun> {
  const r = await run(process.execPath, [GRAFT_BIN, ...args], {
    cwd: opts.cwd ?? REPO_ROOT,
    env: opts.env ?? process.env,
    timeoutMs: opts.timeoutMs ?? 60_000,
  });
  return { args: [...args], code: r.code ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The same command line run in this process: lib/cli's main() with a context
 * that captures what it prints. No node and tsx start-up (about a second
 * each), for the many offline `graft verify` runs; the output and exit code
 * are the ones the binary would give (bin/graft.mjs only calls main()).
 */
export async function graftInProcess(args: readonly string[], opts: Omit<CliOptions, "timeoutMs"> = {}): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = {
    out: (line) => out.push(`${line}\n`),
    err: (line) => err.push(`${line}\n`),
    env: opts.env ?? process.env,
    cwd: opts.cwd ?? REPO_ROOT,
    passthrough: [],
    debug: false,
    exitCode: 0,
  };
  const code = await main(args, ctx);
  return { args: [...args], code, stdout: out.join(""), stderr: err.join("") };
}

/** Runs `jobs` with at most `limit` at a time; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** `refused CODE REASON` (one line, as the runtime and `graft verify` print it), or null. */
export function parseRefusal(line: string): { code: string; reason: string } | null {
  const m = /^refused (\S+) (.*)$/.exec(line.replace(/\n$/, ""));
  return m ? { code: m[1], reason: m[2] } : null;
}

// ------------------------------------------------------------ the layout

export const BUNDLE_MAGIC = Buffer.from("GRAFTB01", "ascii");
export const SIGNATURE_CONTEXT = Buffer.from("graft-bundle-v1\n", "ascii");
export const KEY_ID_BYTES = 8;
export const SIGNATURE_BYTES = 64;

/** One file of a bundle's body, with where its parts are. */
export interface BundleBodyFile {
  name: string;
  content: Buffer;
  /** Offset of the 2-byte name length (the start of the entry). */
  entryAt: number;
  /** Offset of the 8-byte size. */
  sizeAt: number;
  /** Offset of the content. */
  contentAt: number;
  /** Offset just after the content (the next entry, or the end). */
  endAt: number;
}

/** A well-formed bundle split into its parts (docs/bundle-format.md, "Layout"). */
export interface BundleLayout {
  manifest: Buffer;
  manifestAt: number;
  keyId: Buffer;
  keyIdAt: number;
  signature: Buffer;
  signatureAt: number;
  bodyAt: number;
  files: BundleBodyFile[];
}

/** Splits a bundle this test made; throws on anything malformed (test inputs only). */
export function parseBundleLayout(bytes: Buffer): BundleLayout {
  if (!bytes.subarray(0, 8).equals(BUNDLE_MAGIC)) throw new Error("not a bundle: wrong magic");
  const m = bytes.readUInt32LE(8);
  const manifestAt = 12;
  const keyIdAt = manifestAt + m;
  const signatureAt = keyIdAt + KEY_ID_BYTES;
  const bodyAt = signatureAt + SIGNATURE_BYTES;
  const files: BundleBodyFile[] = [];
  let at = bodyAt;
  while (at < bytes.length) {
    const entryAt = at;
    const n = bytes.readUInt16LE(at);
    const name = bytes.subarray(at + 2, at + 2 + n).toString("ascii");
    const sizeAt = at + 2 + n;
    const size = Number(bytes.readBigUInt64LE(sizeAt));
    const contentAt = sizeAt + 8;
    const endAt = contentAt + size;
    if (endAt > bytes.length) throw new Error(`file ${name} runs past the end`);
    files.push({ name, content: bytes.subarray(contentAt, endAt), entryAt, sizeAt, contentAt, endAt });
    at = endAt;
  }
  return {
    manifest: bytes.subarray(manifestAt, keyIdAt),
    manifestAt,
    keyId: bytes.subarray(keyIdAt, signatureAt),
    keyIdAt,
    signature: bytes.subarray(signatureAt, bodyAt),
    signatureAt,
    bodyAt,
    files,
  };
}

/** One file entry of the body: u16 name length, name, u64 size, content. */
export function encodeFileEntry(name: string, content: Buffer): Buffer {
  const n = Buffer.alloc(2);
  n.writeUInt16LE(Buffer.byteLength(name, "ascii"));
  const s = Buffer.alloc(8);
  s.writeBigUInt64LE(BigInt(content.length));
  return Buffer.concat([n, Buffer.from(name, "ascii"), s, content]);
}

/** Magic, manifest length, manifest, key id, signature, then the file entries. */
export function encodeBundle(parts: { manifest: Buffer; keyId: Buffer; signature: Buffer; files: ReadonlyArray<{ name: string; content: Buffer }> }): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32LE(parts.manifest.length);
  return Buffer.concat([
    BUNDLE_MAGIC,
    len,
    parts.manifest,
    parts.keyId,
    parts.signature,
    ...parts.files.map((f) => encodeFileEntry(f.name, f.content)),
  ]);
}

/** A copy of `bytes` with the byte at `offset` XORed with `mask`. */
export function flipByte(bytes: Buffer, offset: number, mask = 0x01): Buffer {
  const copy = Buffer.from(bytes);
  copy[offset] ^= mask;
  return copy;
}

/** A copy of `bytes` with `length` bytes at `offset` replaced by zeros. */
export function zeroBytes(bytes: Buffer, offset: number, length: number): Buffer {
  const copy = Buffer.from(bytes);
  copy.fill(0, offset, offset + length);
  return copy;
}

// ------------------------------------------------------------ keys and signatures

/** A graft.key (PKCS#8 PEM Ed25519) read with Node's crypto, not lib/bundle. */
export interface TestSigningKey {
  privateKey: KeyObject;
  /** Raw 32-byte public key. */
  publicRaw: Buffer;
  /** First 8 bytes of SHA-256 of the raw public key. */
  keyId: Buffer;
}

export function loadSigningKey(keyFile: string): TestSigningKey {
  const privateKey = createPrivateKey({ key: readFileSync(keyFile), format: "pem" });
  const jwk = createPublicKey(privateKey).export({ format: "jwk" });
  const publicRaw = Buffer.from(String(jwk.x), "base64url");
  return { privateKey, publicRaw, keyId: keyIdOf(publicRaw) };
}

export function keyIdOf(publicRaw: Buffer): Buffer {
  return createHash("sha256").update(publicRaw).digest().subarray(0, KEY_ID_BYTES);
}

/** The raw key from graft.pub's one line `graft-ed25519-public <64 hex>`. */
export function readPublicKeyRaw(pubFile: string): Buffer {
  const m = /^graft-ed25519-public ([0-9a-f]{64})\n?$/.exec(readFileSync(pubFile, "utf8"));
  if (!m) throw new Error(`${pubFile} is not a graft.pub`);
  return Buffer.from(m[1], "hex");
}

/** Ed25519 over the context string followed by the manifest bytes. */
export function signManifest(manifest: Buffer, key: TestSigningKey): Buffer {
  return sign(null, Buffer.concat([SIGNATURE_CONTEXT, manifest]), key.privateKey);
}

/**
 * The bundle with its manifest replaced by `edit(manifest text)` and signed
 * again by `key` (key id included); the body is kept byte for byte.
 */
export function resignBundle(bytes: Buffer, key: TestSigningKey, edit: (manifest: string) => string): Buffer {
  const layout = parseBundleLayout(bytes);
  const manifest = Buffer.from(edit(layout.manifest.toString("utf8")), "utf8");
  return Buffer.concat([
    BUNDLE_MAGIC,
    (() => {
      const len = Buffer.alloc(4);
      len.writeUInt32LE(manifest.length);
      return len;
    })(),
    manifest,
    key.keyId,
    signManifest(manifest, key),
    bytes.subarray(layout.bodyAt),
  ]);
}

/**
 * Everything that would give a private key away if it showed up somewhere:
 * the PEM text and each of its base64 lines, the DER bytes, the 32-byte seed
 * in raw, hex and base64 forms.
 */
export function privateKeyNeedles(keyFile: string): { texts: string[]; bytes: Buffer[] } {
  const pem = readFileSync(keyFile, "utf8");
  const key = createPrivateKey({ key: pem, format: "pem" });
  const der = key.export({ format: "der", type: "pkcs8" });
  const seed = Buffer.from(String(key.export({ format: "jwk" }).d), "base64url");
  const lines = pem.split("\n").filter((l) => l && !l.startsWith("-----"));
  const texts = [pem.trim(), ...lines, seed.toString("hex"), seed.toString("base64"), seed.toString("base64url"), der.toString("base64")];
  return { texts, bytes: [der, seed, Buffer.from(pem)] };
}
