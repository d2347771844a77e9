import "server-only";
import crypto from "node:crypto";
import { cookies, headers } from "next/headers";
import { prisma } from "../db";
import { AppError } from "../errors";
import { recordAudit } from "../audit/record";
import { dummyHash, verifyPassword } from "./password";
import { assertCan, type Permission, type Role, type SessionUser } from "./roles";
import { authenticateApiToken } from "./api-tokens";

export const SESSION_COOKIE = "graft_session";
const SESSION_TTL_MS = 7 * 24 * 3600 * 1000;

function hashToken(token: string): string {
  return crypto.createHash("sha256").update(token).digest("hex");
}

function toSessionUser(u: { id: number; email: string; name: string; role: string }): SessionUser {
  return { id: u.id, email: u.email, name: u.name, role: u.role as Role };
}

/** Checks the password, creates a session and sets the httpOnly cookie. */
export async function signIn(opts: { email: string; password: string }): Promise<SessionUser> {
  const user = await prisma.user.findUnique({ where: { email: opts.email.trim().toLowerCase() } });
  const ok = user && !user.disabled ? await verifyPassword(opts.password, user.passwordHash) : (await verifyPassword(opts.password, await dummyHash()), false);
  if (!user || !ok) throw new AppError("bad-credentials");
  const token = crypto.randomBytes(32).toString("base64url");
  const expiresAt = new Date(Date.now() + SESSION_TTL_MS);
  await prisma.$transaction(async (tx) => {
    await tx.session.create({ data: { tokenHash: hashToken(token), userId: user.id, expiresAt } });
    await recordAudit(tx, { actorId: user.id, action: "user.sign-in", targetType: "user", targetId: String(user.id) });
  });
  const jar = await cookies();
  const secure = (await headers()).get("x-forwarded-proto") === "https";
  jar.set(SESSION_COOKIE, token, { httpOnly: true, sameSite: "lax", path: "/", expires: expiresAt, secure });
  return toSessionUser(user);
}

export async function signOut(): Promise<void> {
  const jar = await cookies();
  const token = jar.get(SESSION_COOKIE)?.value;
  if (token) await prisma.session.deleteMany({ where: { tokenHash: hashToken(token) } });
  jar.delete(SESSION_COOKIE);
}

/** The signed-in user of this request (session cookie, or `Authorization: Bearer` API token), or null. */
export async function getCurrentUser(): Promise<SessionUser | null> {
  const auth = (await headers()).get("authorization");
  if (auth?.startsWith("Bearer ")) return authenticateApiToken(auth.slice(7).trim());
  const token = (await cookies()).get(SESSION_COOKIE)?.value;
  if (!token) return null;
  const session = await prisma.session.findUnique({ where: { tokenHash: hashToken(token) }, include: { user: true } });
  if (!session || session.expiresAt < new Date() || session.user.disabled) return null;
  return toSessionUser(session.user);
}

export async function requireUser(permission?: Permission): Promise<SessionUser> {
  const user = await getCurrentUser();
  if (!user) throw new AppError("unauthenticated");
  if (permission) assertCan(user, permission);
  return user;
}
