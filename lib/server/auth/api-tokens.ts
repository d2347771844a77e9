import "server-only";
import crypto from "node:crypto";
import { prisma } from "../db";
import { AppError } from "../errors";
import { recordAudit } from "../audit/record";
import type { Role, SessionUser } from "./roles";

const TOKEN_PREFIX = "graft_";

function hashToken(token: string): string {
  return crypto.createHash("sha256").update(token).digest("hex");
}

export interface ApiTokenDto {
  id: number;
  name: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revoked: boolean;
}

/** Creates a token for the command line; the secret is returned once and only its hash is kept. */
export async function createApiToken(opts: { user: SessionUser; name: string }): Promise<{ token: string; dto: ApiTokenDto }> {
  const token = TOKEN_PREFIX + crypto.randomBytes(24).toString("base64url");
  const row = await prisma.$transaction(async (tx) => {
    const row = await tx.apiToken.create({
      data: { name: opts.name, tokenHash: hashToken(token), prefix: token.slice(0, 10), userId: opts.user.id },
    });
    await recordAudit(tx, { actorId: opts.user.id, action: "token.create", targetType: "api-token", targetId: String(row.id), detail: { name: opts.name } });
    return row;
  });
  return { token, dto: toDto(row) };
}

export async function listApiTokens(user: SessionUser): Promise<ApiTokenDto[]> {
  const rows = await prisma.apiToken.findMany({ where: { userId: user.id }, orderBy: { id: "desc" } });
  return rows.map(toDto);
}

export async function revokeApiToken(opts: { user: SessionUser; id: number }): Promise<void> {
  await prisma.$transaction(async (tx) => {
    const n = await tx.apiToken.updateMany({ where: { id: opts.id, userId: opts.user.id, revokedAt: null }, data: { revokedAt: new Date() } });
    if (n.count === 0) throw new AppError("not-found");
    await recordAudit(tx, { actorId: opts.user.id, action: "token.revoke", targetType: "api-token", targetId: String(opts.id) });
  });
}

export async function authenticateApiToken(token: string): Promise<SessionUser | null> {
  if (!token.startsWith(TOKEN_PREFIX)) return null;
  const row = await prisma.apiToken.findUnique({ where: { tokenHash: hashToken(token) }, include: { user: true } });
  if (!row || row.revokedAt || row.user.disabled) return null;
  await prisma.apiToken.update({ where: { id: row.id }, data: { lastUsedAt: new Date() } });
  return { id: row.user.id, email: row.user.email, name: row.user.name, role: row.user.role as Role };
}

function toDto(r: { id: number; name: string; prefix: string; createdAt: Date; lastUsedAt: Date | null; revokedAt: Date | null }): ApiTokenDto {
  return { id: r.id, name: r.name, prefix: r.prefix, createdAt: r.createdAt.toISOString(), lastUsedAt: r.lastUsedAt?.toISOString() ?? null, revoked: !!r.revokedAt };
}
