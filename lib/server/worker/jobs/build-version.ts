import "server-only";
import fs from "node:fs/promises";
import path from "node:path";
import { prisma } from "../../db";
import { recordAudit } from "../../audit/record";
import { compileProgram } from "../../../compile";
import { formatDiagnostic, type Diagnostic } from "../../../model/diagnostics";
import { writePublicKeyFile } from "../../signing/signing-key";
import type { BuildVersionPayload } from "../../versions/create-version";
import type { JobContext } from "../handlers";
import { diagnosticsOf, JobFailure, writeSources } from "./files";
import { serverCflags } from "./regenerate";

/**
 * The updateable build of an uploaded version, trusting the server's signing
 * key. A version that does not build is removed again (nothing half-made is
 * left); the job keeps the reason and gcc's diagnostics.
 */
export async function buildVersionJob(payload: unknown, ctx: JobContext): Promise<unknown> {
  const { versionId } = payload as BuildVersionPayload;
  const version = await prisma.version.findUnique({ where: { id: versionId }, include: { program: true } });
  if (!version) throw new JobFailure(`version ${versionId} no longer exists`);
  await prisma.version.update({ where: { id: versionId }, data: { status: "building" } });
  const src = path.join(ctx.workDir, "src");
  const out = path.join(ctx.workDir, "out");
  await writeSources(src, JSON.parse(version.sources));
  const { pubFile } = await writePublicKeyFile(path.join(ctx.workDir, "keys"));
  await ctx.progress(`building ${version.program.name} ${version.label}`);
  try {
    const result = await compileProgram({
      name: version.program.name,
      files: JSON.parse(version.cfiles),
      outDir: out,
      cwd: src,
      cflags: serverCflags(JSON.parse(version.cflags)),
      ldflags: JSON.parse(version.ldflags),
      trustedKeys: [pubFile],
      onProgress: (msg) => void ctx.progress(msg),
    });
    const versionData = await fs.readFile(result.versionDataPath, "utf8");
    await prisma.version.update({
      where: { id: versionId },
      data: { status: "ready", versionData, diagnostics: JSON.stringify(result.diagnostics), error: null },
    });
    await ctx.progress(`${version.label} is ready (${result.diagnostics.length} diagnostic(s))`);
    return { versionId, diagnostics: result.diagnostics };
  } catch (e) {
    const diagnostics = diagnosticsOf(e) as Diagnostic[];
    for (const d of diagnostics) await ctx.progress(formatDiagnostic(d));
    await prisma.$transaction(async (tx) => {
      await tx.version.delete({ where: { id: versionId } });
      await recordAudit(tx, {
        actorId: version.createdById,
        action: "version.refused",
        targetType: "program",
        targetId: String(version.programId),
        detail: { label: version.label, reason: e instanceof Error ? e.message : String(e) },
      });
    });
    throw new JobFailure(`The upload was refused: ${version.label} does not compile: ${e instanceof Error ? e.message : e}`, diagnostics);
  }
}
