import "server-only";
import { prisma } from "../db";
import { AppError } from "../errors";
import { recordAudit } from "../audit/record";
import { assertCan, type SessionUser } from "../auth/roles";
import { enqueueJob } from "../jobs/queue";
import { revisionDigest, staleApprovals } from "../patches/revision-digest";

export interface BuildBundlePayload {
  bundleId: number;
}

/** Queues the signed bundle of the current, approved revision. */
export async function requestBundle(opts: { user: SessionUser; patchId: number }): Promise<{ bundleId: number; jobId: number }> {
  assertCan(opts.user, "bundle:build");
  return prisma.$transaction(async (tx) => {
    const patch = await tx.patch.findUnique({ where: { id: opts.patchId }, include: { program: true, targetVersion: true } });
    if (!patch) throw new AppError("not-found", "No such patch.");
    const current = await tx.patchRevision.findFirst({ where: { patchId: patch.id }, orderBy: { number: "desc" } });
    if (!current || current.state !== "approved") throw new AppError("not-approved");
    const stale = staleApprovals(await tx.review.findMany({ where: { revisionId: current.id, active: true }, include: { reviewer: true } }), revisionDigest(current));
    if (stale.length > 0)
      throw new AppError("conflict", `Revision ${current.number} is not what ${stale.map((r) => r.reviewer.email).join(", ")} approved (the approval names another digest): it must be reviewed again.`);
    const sequenceBase = await tx.bundle.count({ where: { revision: { patch: { programId: patch.programId } } } });
    const bundle = await tx.bundle.create({
      data: {
        revisionId: current.id,
        status: "queued",
        sequence: sequenceBase + 1,
        fileName: `${patch.program.name}-${patch.targetVersion.label}-r${current.number}.graft`,
        createdById: opts.user.id,
      },
    });
    const payload: BuildBundlePayload = { bundleId: bundle.id };
    const jobId = await enqueueJob("build-bundle", payload, { tx, programId: patch.programId });
    await tx.bundle.update({ where: { id: bundle.id }, data: { jobId } });
    await recordAudit(tx, { actorId: opts.user.id, action: "bundle.request", targetType: "patch", targetId: String(patch.id), detail: { revision: current.number, bundle: bundle.id } });
    return { bundleId: bundle.id, jobId };
  });
}
