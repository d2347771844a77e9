/**
 * The byte layout of a bundle (docs/bundle-format.md, "Layout"): writing it,
 * and reading it back in two steps. readFrame splits off the parts the
 * signature check needs and trusts nothing; readFiles runs only after the
 * manifest is verified, and checks the body against it.
 */
import { createHash } from "node:crypto";
import {
  FILE_NAME_LENGTH_BYTES,
  FILE_NAME_PATTERN,
  FILE_SIZE_BYTES,
  HEADER_BYTES,
  KEY_ID_BYTES,
  MAGIC,
  MAGIC_BYTES,
  MAX_BUNDLE_BYTES,
  MAX_FILE_NAME_BYTES,
  MAX_MANIFEST_BYTES,
  SIGNATURE_BYTES,
} from "./constants.js";
import type { BundleFile, BundleFrame, BundleManifest, BundleRefusal } from "./types.js";

/** Everything that goes into a bundle, already signed. */
export interface BundleParts {
  manifestBytes: Buffer;
  keyId: Buffer;
  signature: Buffer;
  /** In manifest order. */
  files: BundleFile[];
}

export function encodeBundle(parts: BundleParts): Buffer {
  const { manifestBytes, keyId, signature, files } = parts;
  if (manifestBytes.length === 0 || manifestBytes.length > MAX_MANIFEST_BYTES) throw new Error("manifest size out of range");
  if (keyId.length !== KEY_ID_BYTES) throw new Error(`key id must be ${KEY_ID_BYTES} bytes`);
  if (signature.length !== SIGNATURE_BYTES) throw new Error(`signature must be ${SIGNATURE_BYTES} bytes`);

  const length = Buffer.alloc(4);
  length.writeUInt32LE(manifestBytes.length);
  const chunks: Buffer[] = [MAGIC, length, manifestBytes, keyId, signature];
  for (const f of files) {
    if (!FILE_NAME_PATTERN.test(f.name)) throw new Error(`file name ${JSON.stringify(f.name)} is not plain`);
    const nameLength = Buffer.alloc(FILE_NAME_LENGTH_BYTES);
    nameLength.writeUInt16LE(f.name.length);
    const size = Buffer.alloc(FILE_SIZE_BYTES);
    size.writeBigUInt64LE(BigInt(f.content.length));
    chunks.push(nameLength, Buffer.from(f.name, "ascii"), size, f.content);
  }
  return Buffer.concat(chunks);
}

export type FrameResult = { ok: true; frame: BundleFrame } | BundleRefusal;

/** Splits magic, manifest, key id and signature off; checks sizes only. */
export function readFrame(bytes: Buffer): FrameResult {
  if (bytes.length > MAX_BUNDLE_BYTES) return badFormat(`bundle larger than ${MAX_BUNDLE_BYTES} bytes`);
  if (bytes.length < MAGIC_BYTES || !bytes.subarray(0, MAGIC_BYTES).equals(MAGIC)) {
    return badFormat(bytes.length < MAGIC_BYTES ? `truncated: ${bytes.length} bytes is too short for a bundle` : "not a graft bundle (wrong magic)");
  }
  if (bytes.length < HEADER_BYTES) return badFormat("truncated inside the manifest length");
  const manifestLength = bytes.readUInt32LE(MAGIC_BYTES);
  if (manifestLength === 0) return badFormat("manifest length is 0");
  if (manifestLength > MAX_MANIFEST_BYTES) return badFormat(`manifest length ${manifestLength} is above the 1 MiB limit`);
  const keyIdAt = HEADER_BYTES + manifestLength;
  const signatureAt = keyIdAt + KEY_ID_BYTES;
  const bodyOffset = signatureAt + SIGNATURE_BYTES;
  if (bytes.length < bodyOffset) return badFormat("truncated before the end of the signature");
  return {
    ok: true,
    frame: {
      manifestBytes: bytes.subarray(HEADER_BYTES, keyIdAt),
      keyId: bytes.subarray(keyIdAt, signatureAt),
      signature: bytes.subarray(signatureAt, bodyOffset),
      bodyOffset,
    },
  };
}

export type FilesResult = { ok: true; files: Map<string, Buffer> } | BundleRefusal;

/**
 * Reads the body against a verified manifest: the files must come in
 * manifest order, each with the listed size and SHA-256, and the bundle must
 * end right after the last one. Contents are copied, so the caller holds no
 * view into the bytes it was given.
 */
export function readFiles(bytes: Buffer, offset: number, manifest: BundleManifest): FilesResult {
  const files = new Map<string, Buffer>();
  const listed = new Set(manifest.files.map((f) => f.name));
  let at = offset;
  for (const [index, entry] of manifest.files.entries()) {
    if (at === bytes.length) return badFormat(`truncated: file ${entry.name} is missing (the bundle ends after ${index} files)`);
    if (bytes.length - at < FILE_NAME_LENGTH_BYTES) return badFormat(`truncated inside the name length of file ${index + 1}`);
    const nameLength = bytes.readUInt16LE(at);
    at += FILE_NAME_LENGTH_BYTES;
    if (nameLength === 0 || nameLength > MAX_FILE_NAME_BYTES) return badFormat(`file ${index + 1} has a name length of ${nameLength}`);
    if (bytes.length - at < nameLength) return badFormat(`truncated inside the name of file ${index + 1}`);
    const name = bytes.subarray(at, at + nameLength).toString("latin1");
    at += nameLength;
    if (!FILE_NAME_PATTERN.test(name)) return badFormat(`file ${index + 1} has a name that is not plain`);
    if (name !== entry.name) {
      return badFormat(
        listed.has(name)
          ? `files out of order: found ${name} where the manifest lists ${entry.name}`
          : `file ${name} is not named in the manifest`,
      );
    }
    if (bytes.length - at < FILE_SIZE_BYTES) return badFormat(`truncated inside the size of ${name}`);
    const size = bytes.readBigUInt64LE(at);
    at += FILE_SIZE_BYTES;
    if (size !== BigInt(entry.size)) {
      return { ok: false, code: "digest-mismatch", reason: `${name} is ${size} bytes, the manifest says ${entry.size}` };
    }
    if (bytes.length - at < entry.size) return badFormat(`truncated inside ${name}`);
    const content = bytes.subarray(at, at + entry.size);
    at += entry.size;
    const digest = createHash("sha256").update(content).digest("hex");
    if (digest !== entry.sha256) {
      return { ok: false, code: "digest-mismatch", reason: `SHA-256 of ${name} differs from the manifest` };
    }
    files.set(name, Buffer.from(content));
  }
  if (at !== bytes.length) {
    return badFormat(`${bytes.length - at} unexpected bytes after the last file (trailing data or a file not named in the manifest)`);
  }
  return { ok: true, files };
}

function badFormat(reason: string): BundleRefusal {
  return { ok: false, code: "bad-format", reason };
}
