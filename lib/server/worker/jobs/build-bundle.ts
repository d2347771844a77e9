import "server-only";
import crypto from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { prisma } from "../../db";
import { recordAudit } from "../../audit/record";
import { createBundle } from "../../../bundle";
import { formatDiagnostic, type Diagnostic } from "../../../model/diagnostics";
import type { BuildBundlePayload } from "../../bundles/request-bundle";
import { loadSigningKey } from "../../signing/signing-key";
import type { JobContext } from "../handlers";
import { diagnosticsOf, JobFailure } from "./files";
import { runGeneratePatch } from "./regenerate";
import { revisionDigest, staleApprovals } from "../../patches/revision-digest";

/**
 * Builds the approved revision with gcc (its edited transformers included)
 * and signs it with the server's key, unsealed into this process's memory
 * once the build is done (signing-key.ts).
 */
export async function buildBundleJob(payload: unknown, ctx: JobContext): Promise<unknown> {
  const { bundleId } = payload as BuildBundlePayload;
  const bundle = await prisma.bundle.findUnique({ where: { id: bundleId }, include: { revision: true } });
  if (!bundle) throw new JobFailure(`bundle ${bundleId} no longer exists`);
  if (bundle.revision.state !== "approved") {
    await prisma.bundle.update({ where: { id: bundleId }, data: { status: "failed", error: "the revision is no longer approved" } });
    throw new JobFailure("the revision is no longer approved");
  }
  // What is built is what every approval names, checked again here: the request may be older than an edit.
  const digest = revisionDigest(bundle.revision);
  const approvals = await prisma.review.findMany({ where: { revisionId: bundle.revision.id, active: true } });
  if (staleApprovals(approvals, digest).length > 0 || !approvals.some((r) => r.decision === "approve")) {
    const why = "the revision's content is not what its approvals name (digest " + digest.slice(0, 12) + "): it must be reviewed again";
    await prisma.bundle.update({ where: { id: bundleId }, data: { status: "failed", error: why } });
    throw new JobFailure(why);
  }
  await prisma.bundle.update({ where: { id: bundleId }, data: { status: "building" } });
  try {
    await ctx.progress(`building revision ${bundle.revision.number}`);
    const { result } = await runGeneratePatch(bundle.revision.patchId, ctx, { xformSource: bundle.revision.xformSource });
    // Unsealed only now, after every compiler of the job has exited, and only in this process's memory.
    const key = await loadSigningKey();
    const out = path.join(ctx.workDir, bundle.fileName);
    const created = createBundle({ patchDir: result.patchDir, key, out });
    const bytes = await fs.readFile(out);
    const sha256 = crypto.createHash("sha256").update(bytes).digest("hex");
    await prisma.$transaction(async (tx) => {
      // A bundle's sequence is the patch's own (the runtime refuses replays below it).
      await tx.bundle.update({
        where: { id: bundleId },
        data: { status: "ready", bytes, sha256, keyId: created.keyId, revisionDigest: digest, sequence: created.manifest.sequence, error: null },
      });
      await recordAudit(tx, { actorId: null, action: "bundle.built", targetType: "patch", targetId: String(bundle.revision.patchId), detail: { bundle: bundleId, sha256, keyId: created.keyId, revisionDigest: digest } });
    });
    await ctx.progress(`signed ${bundle.fileName} (${bytes.length} bytes, key ${created.keyId})`);
    return { bundleId, sha256, keyId: created.keyId };
  } catch (e) {
    if (e instanceof JobFailure) throw e;
    const diagnostics = diagnosticsOf(e) as Diagnostic[];
    for (const d of diagnostics) await ctx.progress(formatDiagnostic(d));
    const message = e instanceof Error ? e.message : String(e);
    await prisma.bundle.update({ where: { id: bundleId }, data: { status: "failed", error: message } });
    throw new JobFailure(message, diagnostics);
  }
}
