import "server-only";
import { prisma } from "../db";
import { AppError } from "../errors";
import { recordAudit } from "../audit/record";
import { hashPassword, MIN_PASSWORD_LENGTH } from "../auth/password";
import { ROLES, assertCan, type Role, type SessionUser } from "../auth/roles";

export interface UserDto {
  id: number;
  email: string;
  name: string;
  role: Role;
  disabled: boolean;
  createdAt: string;
}

/**
 * Creates an account. `actor` null means the command line (scripts/create-admin.ts),
 * which runs with the server's own rights.
 */
export async function createUser(opts: { actor: SessionUser | null; email: string; name: string; role: Role; password: string }): Promise<UserDto> {
  if (opts.actor) assertCan(opts.actor, "users:manage");
  const email = opts.email.trim().toLowerCase();
  if (!/^[^@\s]+@[^@\s]+$/.test(email)) throw new AppError("invalid", "That is not an email address.");
  if (!ROLES.includes(opts.role)) throw new AppError("invalid", "Unknown role.");
  if (opts.password.length < MIN_PASSWORD_LENGTH) throw new AppError("invalid", `The password needs at least ${MIN_PASSWORD_LENGTH} characters.`);
  const passwordHash = await hashPassword(opts.password);
  return prisma.$transaction(async (tx) => {
    if (await tx.user.findUnique({ where: { email } })) throw new AppError("conflict", `There is already an account for ${email}.`);
    const u = await tx.user.create({ data: { email, name: opts.name.trim() || email, role: opts.role, passwordHash } });
    await recordAudit(tx, { actorId: opts.actor?.id ?? null, action: "user.create", targetType: "user", targetId: String(u.id), detail: { email, role: opts.role } });
    return toUserDto(u);
  });
}

export async function listUsers(actor: SessionUser): Promise<UserDto[]> {
  assertCan(actor, "users:manage");
  const rows = await prisma.user.findMany({ where: { NOT: { passwordHash: "!" } }, orderBy: { id: "asc" } });
  return rows.map(toUserDto);
}

export function toUserDto(u: { id: number; email: string; name: string; role: string; disabled: boolean; createdAt: Date }): UserDto {
  return { id: u.id, email: u.email, name: u.name, role: u.role as Role, disabled: u.disabled, createdAt: u.createdAt.toISOString() };
}
