import "server-only";
import type { Prisma } from "../../../generated/prisma/client";

export interface AuditEntry {
  actorId: number | null;
  action: string;
  targetType: string;
  targetId: string;
  detail?: Record<string, unknown>;
}

/** Writes one audit row inside the caller's transaction. */
export async function recordAudit(tx: Prisma.TransactionClient, e: AuditEntry): Promise<void> {
  await tx.auditEvent.create({
    data: { actorId: e.actorId, action: e.action, targetType: e.targetType, targetId: e.targetId, detail: JSON.stringify(e.detail ?? {}) },
  });
}
