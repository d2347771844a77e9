import "server-only";
import { prisma } from "../db";
import { AppError } from "../errors";
import { recordAudit } from "../audit/record";
import { assertCan, type SessionUser } from "../auth/roles";

/** Approvals needed before a revision counts as approved. */
export const REQUIRED_APPROVALS = Math.max(1, Number(process.env.GRAFT_REQUIRED_APPROVALS ?? 1));

/**
 * A reviewer approves or rejects the current revision. The patch's author
 * (and whoever wrote the current revision) cannot review it.
 */
export async function reviewPatch(opts: { user: SessionUser; patchId: number; revision: number; decision: "approve" | "reject"; comment: string }): Promise<{ state: string }> {
  assertCan(opts.user, "patch:review");
  return prisma.$transaction(async (tx) => {
    const patch = await tx.patch.findUnique({ where: { id: opts.patchId } });
    if (!patch) throw new AppError("not-found", "No such patch.");
    const current = await tx.patchRevision.findFirst({ where: { patchId: patch.id }, orderBy: { number: "desc" } });
    if (!current) throw new AppError("conflict", "The patch has not been generated yet.");
    if (current.number !== opts.revision) throw new AppError("conflict", `Revision ${current.number} is current now; reload the page and review it.`);
    if (patch.createdById === opts.user.id || current.createdById === opts.user.id) throw new AppError("own-patch");
    if (opts.decision === "reject" && !opts.comment.trim()) throw new AppError("invalid", "Say why you reject it.");
    await tx.review.updateMany({ where: { revisionId: current.id, reviewerId: opts.user.id, active: true }, data: { active: false } });
    await tx.review.create({ data: { revisionId: current.id, reviewerId: opts.user.id, decision: opts.decision, comment: opts.comment.trim() } });
    const active = await tx.review.findMany({ where: { revisionId: current.id, active: true } });
    const state = active.some((r) => r.decision === "reject")
      ? "rejected"
      : active.filter((r) => r.decision === "approve").length >= REQUIRED_APPROVALS
        ? "approved"
        : "open";
    await tx.patchRevision.update({ where: { id: current.id }, data: { state } });
    if (opts.comment.trim())
      await tx.comment.create({ data: { patchId: patch.id, revision: current.number, authorId: opts.user.id, body: `${opts.decision === "approve" ? "Approved" : "Rejected"}: ${opts.comment.trim()}` } });
    await recordAudit(tx, {
      actorId: opts.user.id, action: `patch.${opts.decision}`, targetType: "patch", targetId: String(patch.id),
      detail: { revision: current.number, comment: opts.comment.trim(), state },
    });
    return { state };
  });
}
