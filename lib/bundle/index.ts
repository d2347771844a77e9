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
} from "./constants";
export { createBundle } from "./create";
export { BundleDiagnostics } from "./diagnostics";
export { computeKeyId, formatPublicKeyLine, generateKeyPair, parsePublicKeyHex, readPublicKey } from "./keys";
export { formatManifest, parseManifest } from "./manifest";
export { readBundleManifest, type UnverifiedBundleManifest } from "./read";
export { verifyBundle } from "./verify";
export type * from "./types";
