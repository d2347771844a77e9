/**
 * readBundleManifest: what a bundle claims, for display only (dashboard
 * listings, `graft verify` output after a refusal). Nothing here is
 * verified; anything that acts on a bundle must use verifyBundle.
 */
import { readFrame } from "./layout.js";
import { parseManifest } from "./manifest.js";
import type { BundleManifest, BundleRefusal } from "./types.js";

export interface UnverifiedBundleManifest {
  ok: true;
  /** Always false: a reminder at every use site. */
  verified: false;
  manifest: BundleManifest;
  /** Key id the bundle names (16 hex), not checked against anything. */
  keyId: string;
  /** Size of the whole bundle. */
  size: number;
}

export function readBundleManifest(bytes: Buffer): UnverifiedBundleManifest | BundleRefusal {
  const framed = readFrame(bytes);
  if (!framed.ok) return framed;
  const parsed = parseManifest(framed.frame.manifestBytes);
  if (!parsed.ok) return { ok: false, code: "bad-format", reason: parsed.reason };
  return { ok: true, verified: false, manifest: parsed.manifest, keyId: framed.frame.keyId.toString("hex"), size: bytes.length };
}
