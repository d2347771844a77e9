import "server-only";
import { prisma } from "../db";
import { AppError } from "../errors";
import { recordAudit } from "../audit/record";
import { assertCan, type SessionUser } from "../auth/roles";
import { enqueueJob } from "../jobs/queue";
import { checkTransformerSafety, type GuardProblem } from "./xform-guard";

export interface CheckXformPayload {
  patchId: number;
  revisionId: number;
  xformSource: string;
}

/**
 * "Check": compiles the (possibly unsaved) transformer text in the worker.
 * Code that could escape the build is refused here, before any job, and the
 * problems come back as diagnostics with lines for the editor.
 */
export async function requestTransformerCheck(opts: { user: SessionUser; patchId: number; xformSource: string }): Promise<{ jobId: number } | { refused: GuardProblem[] }> {
  assertCan(opts.user, "patch:edit");
  const current = await prisma.patchRevision.findFirst({ where: { patchId: opts.patchId }, orderBy: { number: "desc" } });
  if (!current) throw new AppError("not-found", "The patch has no generated revision yet.");
  const problems = checkTransformerSafety(opts.xformSource, current.generatedXform);
  if (problems.length > 0) return { refused: problems };
  return prisma.$transaction(async (tx) => {
    const payload: CheckXformPayload = { patchId: opts.patchId, revisionId: current.id, xformSource: opts.xformSource };
    const patch = await tx.patch.findUniqueOrThrow({ where: { id: opts.patchId }, select: { programId: true } });
    const jobId = await enqueueJob("check-xform", payload, { tx, programId: patch.programId });
    await tx.patchRevision.update({ where: { id: current.id }, data: { checkJobId: jobId } });
    await recordAudit(tx, { actorId: opts.user.id, action: "patch.check", targetType: "patch", targetId: String(opts.patchId), detail: { revision: current.number, job: jobId } });
    return { jobId };
  });
}
