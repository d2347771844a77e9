/**
 * Sizes and names of bundle format version 1 (docs/bundle-format.md).
 *
 * These numbers are the contract with native/runtime/bundle.c: the C side
 * declares the same values, so change neither without the other.
 */

/** First bytes of every bundle. */
export const MAGIC = Buffer.from("GRAFTB01", "ascii");
export const MAGIC_BYTES = MAGIC.length; // 8

/** Little-endian u32 holding the manifest length M. */
export const MANIFEST_LENGTH_BYTES = 4;

/** Upper bound on M, so a reader never allocates more than this for a header. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;

/**
 * Readers' limits, the same as native/runtime/bundle.c (GRT_BUNDLE_MAX_SIZE,
 * GRT_MAX_FILES), so both refuse the same oversized bundles as bad-format
 * (docs/bundle-format.md, Limits).
 */
export const MAX_BUNDLE_BYTES = 512 * 1024 * 1024;
export const MAX_FILES = 64;

/** First 8 bytes of SHA-256 of the signer's raw 32-byte public key. */
export const KEY_ID_BYTES = 8;

/** Detached Ed25519 signature (libsodium: crypto_sign_BYTES). */
export const SIGNATURE_BYTES = 64;

/** Raw Ed25519 public key (libsodium: crypto_sign_PUBLICKEYBYTES). */
export const PUBLIC_KEY_BYTES = 32;

/** Signature algorithm, named like libsodium's crypto_sign_PRIMITIVE. */
export const SIGN_PRIMITIVE = "ed25519";

/**
 * Domain separation: the signature covers this prefix followed by the
 * manifest bytes, so a graft signature can never be replayed as a signature
 * over some other kind of message made with the same key.
 */
export const SIGNATURE_CONTEXT = Buffer.from("graft-bundle-v1\n", "ascii");

/** Bytes before the manifest: magic + length. */
export const HEADER_BYTES = MAGIC_BYTES + MANIFEST_LENGTH_BYTES;

/** Per-file framing: u16 name length, then (after the name) u64 size. */
export const FILE_NAME_LENGTH_BYTES = 2;
export const FILE_SIZE_BYTES = 8;
export const MAX_FILE_NAME_BYTES = 255;

/** File names are plain: no directory part, nothing to escape. */
/** Plain names: no `/`, and not `.` or `..` (which name directories). */
export const FILE_NAME_PATTERN = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,255}$/;

/** First line of every manifest; the number is the format version. */
export const MANIFEST_FORMAT_LINE = "graft-bundle 1";
export const FORMAT_VERSION = 1;

/** The one file every bundle must carry: the code to load. */
export const REQUIRED_FILE = "patch.so";

/** Key files written by `graft keygen`. */
export const PRIVATE_KEY_FILE = "graft.key";
export const PUBLIC_KEY_FILE = "graft.pub";
/** First word of the one line in graft.pub. */
export const PUBLIC_KEY_PREFIX = "graft-ed25519-public";

/** Owner-only: the private key must never be readable by anyone else. */
export const PRIVATE_KEY_MODE = 0o600;
export const PUBLIC_KEY_MODE = 0o644;
