import "server-only";
import crypto from "node:crypto";
import { prisma } from "../db";
import { AppError } from "../errors";
import { recordAudit } from "../audit/record";
import { assertCan, type SessionUser } from "../auth/roles";
import { enqueueJob } from "../jobs/queue";
import { unpackSourceArchive } from "./unpack-archive";
import { parseFlags } from "./build-flags";

export const VERSION_LABEL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$/;

export interface CreateVersionOptions {
  user: SessionUser;
  programId: number;
  label: string;
  archive: Buffer;
  cflags?: string;
  ldflags?: string;
}

export interface BuildVersionPayload {
  versionId: number;
  label: string;
}

/**
 * Checks an uploaded archive and its build settings, stores the version and
 * queues its updateable build. Every refusal happens before anything is
 * written; a build that fails later removes the version again (the job keeps
 * the reason).
 */
export async function createVersion(opts: CreateVersionOptions): Promise<{ versionId: number; jobId: number }> {
  assertCan(opts.user, "version:upload");
  if (!VERSION_LABEL.test(opts.label)) throw new AppError("invalid", "A version label is letters, digits, '.', '-' and '_' (e.g. v1 or 1.2.0).");
  const cflags = parseFlags(opts.cflags ?? "", "cflags");
  const ldflags = parseFlags(opts.ldflags ?? "", "ldflags");
  const unpacked = await unpackSourceArchive(opts.archive);
  const archiveSha256 = crypto.createHash("sha256").update(opts.archive).digest("hex");

  return prisma.$transaction(async (tx) => {
    const program = await tx.program.findUnique({ where: { id: opts.programId } });
    if (!program) throw new AppError("not-found", "No such program.");
    if (await tx.version.findUnique({ where: { programId_label: { programId: program.id, label: opts.label } } }))
      throw new AppError("conflict", `${program.name} already has a version ${opts.label}.`);
    const version = await tx.version.create({
      data: {
        programId: program.id,
        label: opts.label,
        status: "queued",
        sources: JSON.stringify(unpacked.files),
        cfiles: JSON.stringify(unpacked.cfiles),
        cflags: JSON.stringify(cflags),
        ldflags: JSON.stringify(ldflags),
        archiveSha256,
        createdById: opts.user.id,
      },
    });
    const payload: BuildVersionPayload = { versionId: version.id, label: opts.label };
    const jobId = await enqueueJob("build-version", payload, { tx, programId: program.id });
    await tx.version.update({ where: { id: version.id }, data: { jobId } });
    await recordAudit(tx, {
      actorId: opts.user.id,
      action: "version.upload",
      targetType: "version",
      targetId: String(version.id),
      detail: { program: program.name, label: opts.label, files: unpacked.files.length, skipped: unpacked.skipped, sha256: archiveSha256 },
    });
    return { versionId: version.id, jobId };
  });
}
