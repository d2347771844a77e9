/**
 * createBundle: patch directory + private key -> one signed .graft file.
 */
import { createHash } from "node:crypto";
import { writeFileAtomic } from "./atomic-write.js";
import { BundleDiagnostics, createBundleDiagnostic } from "./diagnostics.js";
import { computeKeyId, readPrivateKey } from "./keys.js";
import { encodeBundle } from "./layout.js";
import { formatCreated, formatManifest } from "./manifest.js";
import { readPatchDir } from "./patch-dir.js";
import { signManifest } from "./signature.js";
import { verifyBundle } from "./verify.js";
import type { BundleManifest, CreateBundleOptions, CreatedBundle } from "./types.js";
import type { Diagnostic } from "../model/diagnostics.js";

export function createBundle(options: CreateBundleOptions): CreatedBundle {
  const { manifest: patch, files } = readPatchDir(options.patchDir);
  const key = typeof options.key === "string" ? readPrivateKey(options.key) : options.key;
  const diagnostics: Diagnostic[] = [];
  if (key.tooOpenMode !== undefined) {
    diagnostics.push(
      createBundleDiagnostic(
        BundleDiagnostics.Private_key_permissions_too_open,
        `private key is readable by others (mode ${key.tooOpenMode.toString(8).padStart(4, "0")}); run chmod 600`,
        typeof options.key === "string" ? options.key : undefined,
        "warning",
      ),
    );
  }

  const sequence = options.sequence ?? patch.sequence;
  if (!Number.isSafeInteger(sequence) || sequence < 0) throw new RangeError(`sequence ${sequence} is not a non-negative integer`);

  const manifest: BundleManifest = {
    formatVersion: 1,
    program: patch.program,
    base: patch.base,
    target: patch.target,
    sequence,
    created: formatCreated(options.created ?? new Date()),
    files: files.map((f) => ({ name: f.name, size: f.content.length, sha256: createHash("sha256").update(f.content).digest("hex") })),
  };
  const manifestBytes = formatManifest(manifest);
  const bytes = encodeBundle({
    manifestBytes,
    keyId: computeKeyId(key.publicKey.raw),
    signature: signManifest(manifestBytes, key.privateKey),
    files,
  });

  // Never ship a bundle our own reader would refuse: the runtime reads the
  // same format, and a refusal at apply time is a worse place to find out.
  const check = verifyBundle(bytes, [key.publicKey.hex]);
  if (!check.ok) throw new Error(`internal: freshly written bundle refused (${check.code}: ${check.reason})`);

  writeFileAtomic(options.out, bytes);
  return { path: options.out, manifest, keyId: key.publicKey.keyId, size: bytes.length, diagnostics };
}
