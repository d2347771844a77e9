/**
 * verifyBundle: the offline twin of native/runtime/bundle.c.
 *
 * Order matters and follows the libsodium/Stripe rule: nothing in the
 * manifest is interpreted before its signature has verified over the raw
 * bytes. It is also bundle.c's order, so that a bundle with several faults
 * gets the same verdict offline and in the process. The steps, each with the
 * refusal it gives:
 *   1. the caller's trusted keys are well formed (throws: a caller bug)
 *   2. size, magic, manifest length, header present   bad-format
 *   3. at least one trusted key                       unsigned
 *   4. key id names a trusted key                     untrusted-key
 *   5. signature over context + manifest bytes        bad-signature
 *   6. manifest parses                                bad-format
 *   7. files in manifest order, sizes and digests     digest-mismatch / bad-format
 *   8. what the running program would check, if given: wrong-program, wrong-base, replay
 *   9. patch.so is a whole ELF shared object (elf-shape.ts)  bad-format
 * On any refusal the result carries no contents at all.
 */
import { elfShapeProblem } from "./elf-shape.js";
import { readFrame, readFiles } from "./layout.js";
import { createPublicKeyObject, parsePublicKeyHex } from "./keys.js";
import { parseManifest } from "./manifest.js";
import { verifyManifestSignature } from "./signature.js";
import type { BundleExpectations, BundleRefusal, BundleRefusalCode, PublicKeyInfo, VerifyResult } from "./types.js";

/**
 * @param bytes the whole bundle file
 * @param publicKeysHex trusted keys, 64 hex chars each (graft.pub's second word)
 * @param expect optional facts about the running program, to give the
 *        runtime's wrong-program / wrong-base / replay verdicts offline
 */
export function verifyBundle(bytes: Buffer, publicKeysHex: readonly string[], expect: BundleExpectations = {}): VerifyResult {
  const trusted = checkTrustedKeys(publicKeysHex);

  const framed = readFrame(bytes);
  if (!framed.ok) return framed;
  const { frame } = framed;

  if (trusted.length === 0) {
    return refuse("unsigned", "no trusted keys: a program built without --trust refuses every bundle");
  }

  const keyIdHex = frame.keyId.toString("hex");
  const signer = trusted.find((k) => k.keyId === keyIdHex);
  if (!signer) return refuse("untrusted-key", `signed by key ${keyIdHex}, which is not a trusted key`);
  if (!verifyManifestSignature(frame.manifestBytes, frame.signature, createPublicKeyObject(signer))) {
    return refuse("bad-signature", `the signature does not verify with trusted key ${keyIdHex}`);
  }

  // From here on the manifest bytes are the signer's own.
  const parsed = parseManifest(frame.manifestBytes);
  if (!parsed.ok) return refuse("bad-format", parsed.reason);
  const { manifest } = parsed;

  const body = readFiles(bytes, frame.bodyOffset, manifest);
  if (!body.ok) return body;

  if (expect.program !== undefined && manifest.program !== expect.program) {
    return refuse("wrong-program", `the patch is for program ${manifest.program}, not ${expect.program}`);
  }
  if (expect.base !== undefined && manifest.base !== expect.base.toLowerCase()) {
    return refuse("wrong-base", `the patch applies to version ${manifest.base.slice(0, 12)}, not ${expect.base.slice(0, 12)}`);
  }
  if (expect.sequence !== undefined && !(manifest.sequence > expect.sequence)) {
    return refuse("replay", `sequence ${manifest.sequence} is not above ${expect.sequence} (downgrade or replay)`);
  }
  const so = body.files.get("patch.so");
  const shape = so ? elfShapeProblem(so) : undefined;
  if (shape) return refuse("bad-format", shape);
  return { ok: true, manifest, keyId: keyIdHex, files: body.files };
}

/**
 * A malformed trusted key is the caller's mistake, not the bundle's: it is
 * thrown, before any byte of the bundle is looked at.
 */
function checkTrustedKeys(publicKeysHex: readonly string[]): PublicKeyInfo[] {
  return publicKeysHex.map((hex, i) => {
    const parsed = parsePublicKeyHex(hex);
    if ("error" in parsed) throw new TypeError(`trusted key ${i + 1} is malformed: ${parsed.error}`);
    return parsed;
  });
}

function refuse(code: BundleRefusalCode, reason: string): BundleRefusal {
  return { ok: false, code, reason };
}
