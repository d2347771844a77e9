/**
 * Ed25519 keys: generating a key pair, reading graft.pub and graft.key.
 *
 * Public keys travel as 64 hex chars because that is what `graft compile
 * --trust` embeds in the executable (grt_trusted_keys in graft_abi.h) and what
 * libsodium takes after sodium_hex2bin. The private key stays a PKCS#8 PEM
 * that only Node's crypto reads; nothing in Graft ever prints it.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, unlinkSync, writeSync } from "node:fs";
import { INPUT_LIMITS, readInputFile } from "../model/read-input-file.js";
import { join } from "node:path";
import {
  KEY_ID_BYTES,
  PRIVATE_KEY_FILE,
  PRIVATE_KEY_MODE,
  PUBLIC_KEY_BYTES,
  PUBLIC_KEY_FILE,
  PUBLIC_KEY_MODE,
  PUBLIC_KEY_PREFIX,
} from "./constants.js";
import { BundleDiagnostics, failBundle } from "./diagnostics.js";
import type { GeneratedKeyPair, PublicKeyInfo } from "./types.js";

const HEX_KEY = /^[0-9a-f]{64}$/;

/**
 * Encodings of the points of small order, the ones libsodium's
 * crypto_sign_verify_detached refuses as a public key (ge25519_has_small_order
 * compares them ignoring the top bit of the last byte). A signature "made" by
 * such a key can be forged by anyone, and the C runtime would refuse every
 * bundle it signed, so we refuse the key where a person can still fix it.
 */
const SMALL_ORDER_POINTS = [
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0100000000000000000000000000000000000000000000000000000000000000",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
].map((h) => Buffer.from(h, "hex"));

/** Same test as libsodium: equal on bytes 0..30, and on byte 31 without its sign bit. */
export function isSmallOrderPoint(raw: Buffer): boolean {
  return SMALL_ORDER_POINTS.some(
    (p) => p.subarray(0, 31).equals(raw.subarray(0, 31)) && (raw[31] & 0x7f) === p[31],
  );
}

/** y >= p: libsodium's ge25519_is_canonical says no. */
function isNonCanonicalPoint(raw: Buffer): boolean {
  if ((raw[31] & 0x7f) !== 0x7f) return false;
  for (let i = 30; i > 0; i--) if (raw[i] !== 0xff) return false;
  return raw[0] >= 0xed;
}

/** First KEY_ID_BYTES of SHA-256 of the raw public key, as bundles carry it. */
export function computeKeyId(rawPublicKey: Buffer): Buffer {
  return createHash("sha256").update(rawPublicKey).digest().subarray(0, KEY_ID_BYTES);
}

/**
 * Checks a hex public key and describes it. Returns a reason instead of
 * throwing so that callers can name the file (readPublicKey) or the
 * argument (verifyBundle's key list) the key came from.
 */
export function parsePublicKeyHex(hex: string): PublicKeyInfo | { error: string } {
  if (!HEX_KEY.test(hex)) {
    return { error: `expected ${PUBLIC_KEY_BYTES * 2} lowercase hex characters, got ${describeWord(hex)}` };
  }
  const raw = Buffer.from(hex, "hex");
  if (isSmallOrderPoint(raw)) return { error: "the key is a point of small order, which anyone can sign for" };
  if (isNonCanonicalPoint(raw)) return { error: "the key is not a canonical Ed25519 point encoding" };
  return { hex, raw, keyId: computeKeyId(raw).toString("hex") };
}

function describeWord(s: string): string {
  if (s.length === 0) return "nothing";
  if (!/^[0-9a-fA-F]*$/.test(s)) return `${s.length} characters that are not all hex`;
  if (/[A-F]/.test(s)) return "uppercase hex";
  return `${s.length} hex characters`;
}

/** Node's KeyObject for a checked raw public key (JWK is the raw-key import Node 20 has). */
export function createPublicKeyObject(key: PublicKeyInfo): KeyObject {
  return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: key.raw.toString("base64url") }, format: "jwk" });
}

function rawPublicKeyOf(publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: "jwk" });
  if (typeof jwk.x !== "string") throw new Error("Ed25519 public key export has no x coordinate");
  return Buffer.from(jwk.x, "base64url");
}

/** The one line of graft.pub. */
export function formatPublicKeyLine(key: PublicKeyInfo): string {
  return `${PUBLIC_KEY_PREFIX} ${key.hex}\n`;
}

/**
 * Reads graft.pub. Every error names the file and what is wrong with it,
 * because the usual mistakes (passing graft.key, a truncated copy-paste)
 * are easy to fix once named.
 */
export function readPublicKey(file: string): PublicKeyInfo {
  let text: string;
  try {
    text = readInputFile(file, INPUT_LIMITS.key).bytes.toString("utf8");
  } catch (e) {
    failBundle(BundleDiagnostics.Public_key_file_unreadable, `cannot read public key: ${errnoText(e)}`, file);
  }
  if (text.includes("PRIVATE KEY")) {
    failBundle(
      BundleDiagnostics.Public_key_file_malformed,
      `this is a private key; pass the public key (${PUBLIC_KEY_FILE}) instead`,
      file,
    );
  }
  const lines = text.split("\n");
  // One line, optionally newline-terminated: "a\n".split gives ["a", ""].
  if (lines.length > 2 || (lines.length === 2 && lines[1] !== "")) {
    failBundle(BundleDiagnostics.Public_key_file_malformed, "expected exactly one line", file);
  }
  const words = lines[0].replace(/\r$/, "").split(" ");
  if (words[0] !== PUBLIC_KEY_PREFIX) {
    failBundle(
      BundleDiagnostics.Public_key_file_malformed,
      `expected the line to start with "${PUBLIC_KEY_PREFIX} ", found ${JSON.stringify(lines[0].slice(0, 40))}`,
      file,
    );
  }
  if (words.length !== 2) {
    failBundle(
      BundleDiagnostics.Public_key_file_malformed,
      `expected "${PUBLIC_KEY_PREFIX} <64 hex>", found ${words.length - 1} words after the prefix`,
      file,
    );
  }
  const parsed = parsePublicKeyHex(words[1]);
  if ("error" in parsed) failBundle(BundleDiagnostics.Public_key_file_malformed, parsed.error, file);
  return parsed;
}

/** A private key loaded for signing, with the public half it implies. */
export interface SigningKey {
  privateKey: KeyObject;
  publicKey: PublicKeyInfo;
  /** Set when the file is readable by group or others: worth a warning. */
  tooOpenMode?: number;
}

/** Reads graft.key (PKCS#8 PEM Ed25519). Errors never quote the file's content. */
export function readPrivateKey(file: string): SigningKey {
  let pem: Buffer;
  let mode: number;
  try {
    ({ bytes: pem, mode } = readInputFile(file, INPUT_LIMITS.key));
  } catch (e) {
    failBundle(BundleDiagnostics.Private_key_unreadable, `cannot read private key: ${errnoText(e)}`, file);
  }
  const key = signingKeyFromPem(pem, file);
  return { ...key, ...((mode & 0o077) !== 0 ? { tooOpenMode: mode } : {}) };
}

/**
 * A signing key from PEM bytes held in memory (the dashboard's key, unsealed
 * from the database, is never written to a file). The bytes are wiped.
 * `source` names where they came from in errors, which never quote them.
 */
export function signingKeyFromPem(pem: Buffer, source: string): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: "pem" });
  } catch {
    // Node's message can echo parts of the input; ours says only what to do.
    failBundle(
      BundleDiagnostics.Private_key_malformed,
      `not a PEM private key; pass the ${PRIVATE_KEY_FILE} written by \`graft keygen\``,
      source,
    );
  } finally {
    pem.fill(0);
  }
  if (privateKey.asymmetricKeyType !== "ed25519") {
    failBundle(
      BundleDiagnostics.Private_key_malformed,
      `expected an Ed25519 key, found ${privateKey.asymmetricKeyType ?? "an unknown key type"}`,
      source,
    );
  }
  const raw = rawPublicKeyOf(createPublicKey(privateKey));
  const publicKey = parsePublicKeyHex(raw.toString("hex"));
  if ("error" in publicKey) failBundle(BundleDiagnostics.Private_key_malformed, publicKey.error, source);
  return { privateKey, publicKey };
}

/** A new Ed25519 key pair in memory: the private half as PKCS#8 PEM bytes (the caller wipes them). */
export function generateKeyPairInMemory(): { pem: Buffer; publicKey: PublicKeyInfo } {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const info = parsePublicKeyHex(rawPublicKeyOf(publicKey).toString("hex"));
  if ("error" in info) throw new Error(`generated an unusable public key: ${info.error}`);
  return { pem: Buffer.from(privateKey.export({ type: "pkcs8", format: "pem" })), publicKey: info };
}

/**
 * Writes DIR/graft.key and DIR/graft.pub. The private key file is created
 * with mode 0600 by open(2) itself: a chmod afterwards would leave a window
 * in which the key is readable by others. An existing key is never
 * overwritten: losing it would orphan every program that trusts it.
 */
export function generateKeyPair(dir: string): GeneratedKeyPair {
  const privateKeyPath = join(dir, PRIVATE_KEY_FILE);
  const publicKeyPath = join(dir, PUBLIC_KEY_FILE);
  for (const p of [privateKeyPath, publicKeyPath]) {
    if (existsSync(p)) {
      failBundle(BundleDiagnostics.Key_file_exists, "refusing to overwrite an existing key file", p);
    }
  }
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    failBundle(BundleDiagnostics.Key_dir_unusable, `cannot make the key directory: ${errnoText(e)}`, dir);
  }

  const { pem, publicKey: info } = generateKeyPairInMemory();
  try {
    writeNewFile(privateKeyPath, pem, PRIVATE_KEY_MODE);
  } finally {
    pem.fill(0);
  }
  try {
    writeNewFile(publicKeyPath, Buffer.from(formatPublicKeyLine(info)), PUBLIC_KEY_MODE);
  } catch (e) {
    // Half a key pair is worse than none: the next keygen would refuse.
    unlinkSync(privateKeyPath);
    throw e;
  }
  return { privateKeyPath, publicKeyPath, publicKey: info };
}

/** O_CREAT|O_EXCL with the final mode: fails rather than replace anything. */
function writeNewFile(path: string, content: Buffer, mode: number): void {
  let fd: number;
  try {
    fd = openSync(path, "wx", mode);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") {
      failBundle(BundleDiagnostics.Key_file_exists, "refusing to overwrite an existing key file", path);
    }
    throw e;
  }
  try {
    let off = 0;
    while (off < content.length) off += writeSync(fd, content, off);
  } finally {
    closeSync(fd);
  }
}

export function errnoText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err && err.code === "ENOENT") return "no such file";
  if (err && err.code === "EACCES") return "permission denied";
  if (err && err.code === "EISDIR") return "is a directory";
  return err instanceof Error ? err.message : String(e);
}
