import "server-only";
import { prisma } from "../db";
import { assertCan, type SessionUser } from "../auth/roles";

export interface AuditEventDto {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  detail: Record<string, unknown>;
}

export async function listAuditEvents(opts: { user: SessionUser; limit?: number; targetType?: string; targetId?: string }): Promise<AuditEventDto[]> {
  assertCan(opts.user, "audit:read");
  const rows = await prisma.auditEvent.findMany({
    where: { targetType: opts.targetType, targetId: opts.targetId },
    orderBy: { id: "desc" },
    take: opts.limit ?? 200,
    include: { actor: { select: { email: true } } },
  });
  return rows.map((r) => ({
    id: r.id,
    at: r.createdAt.toISOString(),
    actor: r.actor?.email ?? "system",
    action: r.action,
    target: `${r.targetType} ${r.targetId}`,
    detail: safeParse(r.detail),
  }));
}

function safeParse(s: string): Record<string, unknown> {
  try {
    return JSON.parse(s);
  } catch {
    return {};
  }
}
