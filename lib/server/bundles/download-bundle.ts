import "server-only";
import { prisma } from "../db";
import { AppError } from "../errors";
import { recordAudit } from "../audit/record";
import { assertCan, type SessionUser } from "../auth/roles";

/** The signed bundle's bytes (nothing else: the signing key never leaves the worker). */
export async function downloadBundle(opts: { user: SessionUser; bundleId: number }): Promise<{ fileName: string; bytes: Buffer; sha256: string }> {
  assertCan(opts.user, "bundle:download");
  const b = await prisma.bundle.findUnique({ where: { id: opts.bundleId }, select: { id: true, status: true, fileName: true, bytes: true, sha256: true, revision: { select: { patchId: true } } } });
  if (!b || b.status !== "ready" || !b.bytes) throw new AppError("not-found", "No such bundle, or it is not built yet.");
  await prisma.$transaction(async (tx) => {
    await recordAudit(tx, { actorId: opts.user.id, action: "bundle.download", targetType: "patch", targetId: String(b.revision.patchId), detail: { bundle: b.id, sha256: b.sha256 } });
  });
  return { fileName: b.fileName, bytes: Buffer.from(b.bytes), sha256: b.sha256 ?? "" };
}
