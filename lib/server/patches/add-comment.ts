import "server-only";
import { prisma } from "../db";
import { AppError } from "../errors";
import { recordAudit } from "../audit/record";
import { assertCan, type SessionUser } from "../auth/roles";

export async function addComment(opts: { user: SessionUser; patchId: number; body: string }): Promise<void> {
  assertCan(opts.user, "patch:comment");
  const body = opts.body.trim();
  if (!body) throw new AppError("invalid", "The comment is empty.");
  if (body.length > 10_000) throw new AppError("invalid", "The comment is longer than 10000 characters.");
  await prisma.$transaction(async (tx) => {
    const current = await tx.patchRevision.findFirst({ where: { patchId: opts.patchId }, orderBy: { number: "desc" } });
    const patch = await tx.patch.findUnique({ where: { id: opts.patchId } });
    if (!patch) throw new AppError("not-found", "No such patch.");
    const c = await tx.comment.create({ data: { patchId: patch.id, revision: current?.number ?? 0, authorId: opts.user.id, body } });
    await recordAudit(tx, { actorId: opts.user.id, action: "patch.comment", targetType: "patch", targetId: String(patch.id), detail: { comment: c.id } });
  });
}
