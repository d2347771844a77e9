/**
 * Data passed between the stages of lib/bundle. Everything here is plain
 * data: no behaviour beyond what the type says.
 *
 * STYLE.md wants BundleManifest in lib/model; it lives here until lib/model
 * grows a place for it, and should move there unchanged.
 */
import type { Diagnostic } from "../model/diagnostics.js";
import type { SigningKey } from "./keys.js";

/** One `file NAME SIZE SHA256` line of the manifest. */
export interface BundleFileEntry {
  /** Plain file name, FILE_NAME_PATTERN. */
  name: string;
  /** Size in bytes. */
  size: number;
  /** Lowercase hex SHA-256 of the content. */
  sha256: string;
}

/** The signed manifest of a bundle, as parsed (docs/bundle-format.md). */
export interface BundleManifest {
  formatVersion: 1;
  /** Program name given to `graft compile --name`. */
  program: string;
  /** Version digest (64 lowercase hex) the patch applies to. */
  base: string;
  /** Version digest after the patch. */
  target: string;
  /** Must be above the running program's sequence (anti-replay). */
  sequence: number;
  /** ISO 8601 UTC, seconds precision: YYYY-MM-DDTHH:MM:SSZ. */
  created: string;
  /** In manifest order, which is also the order of the files in the body. */
  files: BundleFileEntry[];
}

/**
 * Refusal codes the bundle reader can give on its own. They are the first
 * codes of the table in docs/bundle-format.md; the runtime adds the ones
 * that need a running program (wrong-program, wrong-base, replay), which
 * verifyBundle gives only when told what to expect.
 */
export type BundleRefusalCode =
  | "bad-format"
  | "unsigned"
  | "untrusted-key"
  | "bad-signature"
  | "digest-mismatch"
  | "wrong-program"
  | "wrong-base"
  | "replay";

export interface BundleRefusal {
  ok: false;
  code: BundleRefusalCode;
  /** Words for a person; never contains file contents. */
  reason: string;
}

export interface VerifiedBundle {
  ok: true;
  manifest: BundleManifest;
  /** Key id (16 hex) of the trusted key that signed it. */
  keyId: string;
  /** Every file of the manifest, by name, already checked. */
  files: Map<string, Buffer>;
}

/** The result of verifyBundle: all of the bundle, or a reason and nothing. */
export type VerifyResult = VerifiedBundle | BundleRefusal;

/**
 * What the running program would compare the manifest with. verifyBundle
 * checks only what is given, so `graft verify` can give the runtime's
 * verdicts offline.
 */
export interface BundleExpectations {
  program?: string;
  /** The running version digest. */
  base?: string;
  /** The running sequence: the bundle's must be strictly above it. */
  sequence?: number;
}

/** A public key read from graft.pub (or given as hex). */
export interface PublicKeyInfo {
  /** 64 lowercase hex chars. */
  hex: string;
  /** The raw 32 bytes. */
  raw: Buffer;
  /** 16 hex chars: the first KEY_ID_BYTES of SHA-256(raw). */
  keyId: string;
}

/** Where generateKeyPair put the keys. */
export interface GeneratedKeyPair {
  privateKeyPath: string;
  publicKeyPath: string;
  publicKey: PublicKeyInfo;
}

/** The fields lib/bundle needs from a patch directory's manifest.json. */
export interface PatchDirManifest {
  program: string;
  base: string;
  target: string;
  sequence: number;
}

/** A patch directory read from disk, ready to pack. */
export interface PatchDirContents {
  manifest: PatchDirManifest;
  /** Files to pack, in bundle order; summary.json is manifest.json's bytes. */
  files: BundleFile[];
}

/** One file to pack. */
export interface BundleFile {
  name: string;
  content: Buffer;
}

export interface CreateBundleOptions {
  /** Directory written by `graft patch`. */
  patchDir: string;
  /** PKCS#8 PEM Ed25519 private key (graft.key), or the key itself, already in memory. */
  key: string | SigningKey;
  /** Bundle path to write. */
  out: string;
  /** Overrides manifest.json's sequence. */
  sequence?: number;
  /** Overrides the clock (tests, reproducible builds). */
  created?: Date;
}

export interface CreatedBundle {
  path: string;
  manifest: BundleManifest;
  keyId: string;
  size: number;
  /** Warnings worth showing (e.g. a private key readable by others). */
  diagnostics: Diagnostic[];
}

/** The framing of a bundle, split but not yet trusted. */
export interface BundleFrame {
  manifestBytes: Buffer;
  keyId: Buffer;
  signature: Buffer;
  /** Offset of the first file entry. */
  bodyOffset: number;
}
