/**
 * Reads a patch directory written by `graft patch` and decides what goes
 * into the bundle. manifest.json is validated only for the fields the bundle
 * manifest repeats; its bytes travel unchanged as summary.json.
 */
import { INPUT_LIMITS, readInputFile } from "../model/read-input-file.js";
import { join } from "node:path";
import { z } from "zod";
import { REQUIRED_FILE } from "./constants.js";
import { BundleDiagnostics, failBundle } from "./diagnostics.js";
import { elfShapeProblem } from "./elf-shape.js";
import { errnoText } from "./keys.js";
import type { BundleFile, PatchDirContents, PatchDirManifest } from "./types.js";

export const PATCH_MANIFEST_FILE = "manifest.json";
/** manifest.json's name inside the bundle (docs/bundle-format.md). */
export const SUMMARY_FILE = "summary.json";
/** Readable sources packed when present, in this order after patch.so. */
const OPTIONAL_SOURCES = ["patch.c", "xform.c"] as const;

const digest = z.string().regex(/^[0-9a-f]{64}$/, "expected 64 lowercase hex characters");
const PatchDirManifestSchema = z.object({
  program: z.string().min(1),
  base: digest,
  target: digest,
  sequence: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
});

export function readPatchDir(patchDir: string): PatchDirContents {
  const manifestPath = join(patchDir, PATCH_MANIFEST_FILE);
  const manifestBytes = readRequired(manifestPath, `no ${PATCH_MANIFEST_FILE}: is this a directory written by \`graft patch\`?`);
  const manifest = parsePatchManifest(manifestBytes, manifestPath);

  const soPath = join(patchDir, REQUIRED_FILE);
  const so = readRequired(soPath, `no ${REQUIRED_FILE}: the patch was not built`);
  // What the runtime would refuse is refused here, before anything is signed.
  const shape = elfShapeProblem(so);
  if (shape) failBundle(BundleDiagnostics.Patch_dir_incomplete, `not a whole shared object: ${shape}; build the patch again`, soPath);
  const files: BundleFile[] = [{ name: REQUIRED_FILE, content: so }];
  for (const name of OPTIONAL_SOURCES) {
    const content = readOptional(join(patchDir, name));
    if (content) files.push({ name, content });
  }
  files.push({ name: SUMMARY_FILE, content: manifestBytes });
  return { manifest, files };
}

function parsePatchManifest(bytes: Buffer, file: string): PatchDirManifest {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString("utf8"));
  } catch (e) {
    failBundle(BundleDiagnostics.Patch_manifest_invalid, `not valid JSON: ${(e as Error).message}`, file);
  }
  const parsed = PatchDirManifestSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "(top)"}: ${i.message}`).join("; ");
    failBundle(BundleDiagnostics.Patch_manifest_invalid, problems, file);
  }
  return parsed.data;
}

function readRequired(path: string, missing: string): Buffer {
  try {
    return readInputFile(path, INPUT_LIMITS.bundle).bytes;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") failBundle(BundleDiagnostics.Patch_dir_incomplete, missing, path);
    failBundle(BundleDiagnostics.Patch_dir_incomplete, errnoText(e), path);
  }
}

function readOptional(path: string): Buffer | undefined {
  try {
    return readInputFile(path, INPUT_LIMITS.bundle).bytes;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    failBundle(BundleDiagnostics.Patch_dir_incomplete, errnoText(e), path);
  }
}
