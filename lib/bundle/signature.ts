/**
 * Ed25519 over the manifest. Node's crypto takes a null algorithm for
 * Ed25519 (the hash is part of the scheme); the result is the same 64-byte
 * detached signature libsodium's crypto_sign_verify_detached checks.
 */
import { sign, verify, type KeyObject } from "node:crypto";
import { SIGNATURE_BYTES, SIGNATURE_CONTEXT } from "./constants.js";

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
  try {
    return verify(null, getSignedMessage(manifestBytes), publicKey, signature);
  } catch {
    // OpenSSL throws on some malformed inputs; for us that is just "no".
    return false;
  }
}
