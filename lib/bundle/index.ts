/**
 * lib/bundle: the signed patch bundle (docs/bundle-format.md).
 *
 * Writing: generateKeyPair, createBundle. Checking: verifyBundle (the only
 * way to get a bundle's contents), readPublicKey. Display: readBundleManifest
 * (unverified). Sizes are exported for callers that frame or budget bytes.
 */
export {
  FORMAT_VERSION,
  KEY_ID_BYTES,
  MAGIC,
  MAX_MANIFEST_BYTES,
  PRIVATE_KEY_FILE,
  PUBLIC_KEY_BYTES,
  PUBLIC_KEY_FILE,
  PUBLIC_KEY_PREFIX,
  REQUIRED_FILE,
  SIGNATURE_BYTES,
  SIGNATURE_CONTEXT,
  SIGN_PRIMITIVE,
} from "./constants.js";
export { createBundle } from "./create.js";
export { BundleDiagnostics } from "./diagnostics.js";
export { computeKeyId, formatPublicKeyLine, generateKeyPair, generateKeyPairInMemory, parsePublicKeyHex, readPublicKey, signingKeyFromPem, type SigningKey } from "./keys.js";
export { formatManifest, parseManifest } from "./manifest.js";
export { readBundleManifest, type UnverifiedBundleManifest } from "./read.js";
export { verifyBundle } from "./verify.js";
export type * from "./types.js";
