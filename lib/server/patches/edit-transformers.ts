import "server-only";
import { prisma } from "../db";
import { AppError } from "../errors";
import { recordAudit } from "../audit/record";
import { assertCan, type SessionUser } from "../auth/roles";
import { checkTransformerSafety } from "./xform-guard";

/**
 * Saves edited transformers. On a revision nobody has reviewed yet the edit
 * replaces its text; once a revision has an approval or a rejection, any edit
 * starts a new revision and the reviews stay with the old one (approvals are
 * cleared for what is now current).
 */
export async function editTransformers(opts: { user: SessionUser; patchId: number; baseRevision: number; xformSource: string }): Promise<{ revision: number; newRevision: boolean }> {
  assertCan(opts.user, "patch:edit");
  return prisma.$transaction(async (tx) => {
    const current = await tx.patchRevision.findFirst({ where: { patchId: opts.patchId }, orderBy: { number: "desc" } });
    if (!current) throw new AppError("not-found", "The patch has no generated revision yet.");
    if (current.number !== opts.baseRevision)
      throw new AppError("conflict", `Revision ${current.number} was made while you edited revision ${opts.baseRevision}; reload the page.`);
    const problems = checkTransformerSafety(opts.xformSource, current.generatedXform);
    if (problems.length > 0) throw new AppError("unsafe-code", `The transformer code was refused: line ${problems[0].line}: ${problems[0].message}.`);
    if (opts.xformSource === current.xformSource) return { revision: current.number, newRevision: false };
    const reviewed = await tx.review.count({ where: { revisionId: current.id, active: true } });
    if (reviewed === 0 && current.state === "open") {
      // The revision stays its creator's; this editor is on record in the audit log (patch.edit), which the
      // four-eyes rule reads (review-patch.ts): an edit in place does not launder who wrote what.
      await tx.patchRevision.update({ where: { id: current.id }, data: { xformSource: opts.xformSource, checkResult: null } });
      await recordAudit(tx, { actorId: opts.user.id, action: "patch.edit", targetType: "patch", targetId: String(opts.patchId), detail: { revision: current.number } });
      return { revision: current.number, newRevision: false };
    }
    const next = await tx.patchRevision.create({
      data: {
        patchId: opts.patchId,
        number: current.number + 1,
        state: "open",
        manifest: current.manifest,
        patchSource: current.patchSource,
        xformSource: opts.xformSource,
        generatedXform: current.generatedXform,
        versionData: current.versionData,
        createdById: opts.user.id,
      },
    });
    const cleared = await tx.review.updateMany({ where: { revisionId: current.id, active: true }, data: { active: false } });
    await recordAudit(tx, {
      actorId: opts.user.id, action: "patch.revise", targetType: "patch", targetId: String(opts.patchId),
      detail: { from: current.number, to: next.number, clearedReviews: cleared.count },
    });
    return { revision: next.number, newRevision: true };
  });
}
