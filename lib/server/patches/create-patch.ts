import "server-only";
import { prisma } from "../db";
import { AppError } from "../errors";
import { recordAudit } from "../audit/record";
import { assertCan, type SessionUser } from "../auth/roles";
import { enqueueJob } from "../jobs/queue";

export interface GeneratePatchPayload {
  patchId: number;
}

/** Creates a patch from a base to a target version and queues its generation. */
export async function createPatch(opts: { user: SessionUser; programId: number; baseVersionId: number; targetVersionId: number; title?: string }): Promise<{ patchId: number; jobId: number }> {
  assertCan(opts.user, "patch:create");
  if (opts.baseVersionId === opts.targetVersionId) throw new AppError("invalid", "The base and target versions must differ.");
  return prisma.$transaction(async (tx) => {
    const [base, target] = await Promise.all([
      tx.version.findUnique({ where: { id: opts.baseVersionId } }),
      tx.version.findUnique({ where: { id: opts.targetVersionId } }),
    ]);
    if (!base || !target || base.programId !== opts.programId || target.programId !== opts.programId)
      throw new AppError("not-found", "Both versions must belong to this program.");
    const patch = await tx.patch.create({
      data: {
        programId: opts.programId,
        baseVersionId: base.id,
        targetVersionId: target.id,
        title: opts.title?.trim() || `${base.label} → ${target.label}`,
        createdById: opts.user.id,
      },
    });
    const payload: GeneratePatchPayload = { patchId: patch.id };
    const jobId = await enqueueJob("generate-patch", payload, { tx, programId: opts.programId });
    await tx.patch.update({ where: { id: patch.id }, data: { jobId } });
    await recordAudit(tx, {
      actorId: opts.user.id, action: "patch.create", targetType: "patch", targetId: String(patch.id),
      detail: { base: base.label, target: target.label },
    });
    return { patchId: patch.id, jobId };
  });
}
