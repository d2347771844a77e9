import "server-only";
import { prisma } from "../db";
import { AppError } from "../errors";
import { recordAudit } from "../audit/record";
import { assertCan, type SessionUser } from "../auth/roles";
import { revisionDigest } from "./revision-digest";

type Tx = Parameters<Parameters<typeof prisma.$transaction>[0]>[0];

/**
 * The first revision of the patch that the user created (its createdById,
 * which an edit in place keeps) or edited in place (the audit log's
 * patch.edit names the editor and the revision), or undefined.
 */
export async function contributedRevision(tx: Tx | typeof prisma, patchId: number, userId: number): Promise<number | undefined> {
  const created = await tx.patchRevision.findFirst({ where: { patchId, createdById: userId }, orderBy: { number: "asc" } });
  const edits = await tx.auditEvent.findMany({ where: { targetType: "patch", targetId: String(patchId), actorId: userId, action: "patch.edit" } });
  const revisions = edits.map((e) => (JSON.parse(e.detail) as { revision?: number }).revision).filter((n): n is number => typeof n === "number");
  if (created) revisions.push(created.number);
  return revisions.length ? Math.min(...revisions) : undefined;
}

/** Approvals needed before a revision counts as approved. */
export const REQUIRED_APPROVALS = Math.max(1, Number(process.env.GRAFT_REQUIRED_APPROVALS ?? 1));

/**
 * A reviewer approves or rejects the current revision, as the digest the page
 * showed names it (revision-digest.ts). Nobody who wrote the
 * patch or any of its revisions can review it: otherwise two people could
 * take turns (A makes the real change, B touches a comment, A approves B's
 * revision) and one of them would have approved their own work.
 */
export async function reviewPatch(opts: { user: SessionUser; patchId: number; revision: number; digest: string; decision: "approve" | "reject"; comment: string }): Promise<{ state: string }> {
  assertCan(opts.user, "patch:review");
  return prisma.$transaction(async (tx) => {
    const patch = await tx.patch.findUnique({ where: { id: opts.patchId } });
    if (!patch) throw new AppError("not-found", "No such patch.");
    const current = await tx.patchRevision.findFirst({ where: { patchId: patch.id }, orderBy: { number: "desc" } });
    if (!current) throw new AppError("conflict", "The patch has not been generated yet.");
    if (current.number !== opts.revision) throw new AppError("conflict", `Revision ${current.number} is current now; reload the page and review it.`);
    const digest = revisionDigest(current);
    if (digest !== opts.digest)
      throw new AppError("conflict", `Revision ${current.number} was edited after you loaded it (its digest is now ${digest.slice(0, 12)}, you saw ${opts.digest.slice(0, 12) || "none"}); reload the page and review what it is now.`);
    if (patch.createdById === opts.user.id) throw new AppError("own-patch");
    const own = await contributedRevision(tx, patch.id, opts.user.id);
    if (own !== undefined) throw new AppError("own-patch", `You wrote revision ${own} of this patch: someone who did not write any of it must review it.`);
    if (opts.decision === "reject" && !opts.comment.trim()) throw new AppError("invalid", "Say why you reject it.");
    await tx.review.updateMany({ where: { revisionId: current.id, reviewerId: opts.user.id, active: true }, data: { active: false } });
    await tx.review.create({ data: { revisionId: current.id, reviewerId: opts.user.id, decision: opts.decision, digest, comment: opts.comment.trim() } });
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
      detail: { revision: current.number, digest, comment: opts.comment.trim(), state },
    });
    return { state };
  });
}
