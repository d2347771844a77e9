/**
 * Ed25519 over the manifest. Node's crypto takes a null algorithm for
 * Ed25519 (the hash is part of the scheme); the result is the same 64-byte
 * detached signature libsodium's crypto_sign_verify_detached checks.
 */
import { sign, verify, type KeyObject } from "node:crypto";
import { SIGNATURE_BYTES, SIGNATURE_CONTEXT } from "./constants.js";
import { isSmallOrderPoint } from "./keys.js";

/** What is actually signed: the context string, then the manifest bytes. */
export function getSignedMessage(manifestBytes: Buffer): Buffer {
  return Buffer.concat([SIGNATURE_CONTEXT, manifestBytes]);
}

export function signManifest(manifestBytes: Buffer, privateKey: KeyObject): Buffer {
  const signature = sign(null, getSignedMessage(manifestBytes), privateKey);
  if (signature.length !== SIGNATURE_BYTES) throw new Error(`Ed25519 signature of ${signature.length} bytes`);
  return signature;
}

export function verifyManifestSignature(manifestBytes: Buffer, signature: Buffer, publicKey: KeyObject): boolean {
  if (signature.length !== SIGNATURE_BYTES) return false;
  // libsodium refuses a signature whose R is a small-order point; OpenSSL
  // does not. Refusing it here keeps the two verdicts equal.
  if (isSmallOrderPoint(signature.subarray(0, 32))) return false;
  if (!isCanonicalScalar(signature.subarray(32))) return false;
  try {
    return verify(null, getSignedMessage(manifestBytes), publicKey, signature);
  } catch {
    // OpenSSL throws on some malformed inputs; for us that is just "no".
    return false;
  }
}

/** The group order L, little-endian: libsodium's sc25519_is_canonical bound. */
const GROUP_ORDER = Buffer.from("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010", "hex");

/** S < L: a signature has one valid S, so it cannot be altered into another valid one. */
function isCanonicalScalar(s: Buffer): boolean {
  for (let i = 31; i >= 0; i--) {
    if (s[i] !== GROUP_ORDER[i]) return s[i] < GROUP_ORDER[i];
  }
  return false; // S == L
}
