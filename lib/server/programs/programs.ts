import "server-only";
import { prisma } from "../db";
import { AppError } from "../errors";
import { recordAudit } from "../audit/record";
import { assertCan, type SessionUser } from "../auth/roles";

export const PROGRAM_NAME = /^[a-z][a-z0-9_-]{0,39}$/;

export interface ProgramSummaryDto {
  id: number;
  name: string;
  description: string;
  versions: number;
  patches: number;
  createdAt: string;
}

export async function createProgram(opts: { user: SessionUser; name: string; description?: string }): Promise<ProgramSummaryDto> {
  assertCan(opts.user, "program:write");
  if (!PROGRAM_NAME.test(opts.name)) throw new AppError("invalid", "A program name is lower case letters, digits, - and _, starting with a letter.");
  return prisma.$transaction(async (tx) => {
    if (await tx.program.findUnique({ where: { name: opts.name } })) throw new AppError("conflict", `There is already a program named ${opts.name}.`);
    const p = await tx.program.create({ data: { name: opts.name, description: opts.description ?? "", createdById: opts.user.id } });
    await recordAudit(tx, { actorId: opts.user.id, action: "program.create", targetType: "program", targetId: String(p.id), detail: { name: p.name } });
    return { id: p.id, name: p.name, description: p.description, versions: 0, patches: 0, createdAt: p.createdAt.toISOString() };
  });
}

export async function listPrograms(): Promise<ProgramSummaryDto[]> {
  const rows = await prisma.program.findMany({ orderBy: { name: "asc" }, include: { _count: { select: { versions: true, patches: true } } } });
  return rows.map((p) => ({
    id: p.id,
    name: p.name,
    description: p.description,
    versions: p._count.versions,
    patches: p._count.patches,
    createdAt: p.createdAt.toISOString(),
  }));
}
