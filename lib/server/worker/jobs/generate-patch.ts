import "server-only";
import fs from "node:fs/promises";
import path from "node:path";
import { prisma } from "../../db";
import { recordAudit } from "../../audit/record";
import { RetryLater } from "../../jobs/queue";
import { formatDiagnostic, type Diagnostic } from "../../../model/diagnostics";
import type { GeneratePatchPayload } from "../../patches/create-patch";
import type { JobContext } from "../handlers";
import { diagnosticsOf, JobFailure } from "./files";
import { runGeneratePatch } from "./regenerate";

/** The diff and transformer generation; stores patch.c, xform.c, the manifest and the new version data as revision 1. */
export async function generatePatchJob(payload: unknown, ctx: JobContext): Promise<unknown> {
  const { patchId } = payload as GeneratePatchPayload;
  await prisma.patch.updateMany({ where: { id: patchId }, data: { status: "generating", error: null } });
  try {
    const { patch, result } = await runGeneratePatch(patchId, ctx);
    const dir = result.patchDir;
    const read = (name: string) => fs.readFile(path.join(dir, name), "utf8");
    const [patchSource, xformSource, manifest, versionData] = await Promise.all([
      read("patch.c"),
      read("xform.c").catch(() => ""),
      read("manifest.json"),
      read(`${patch.program.name}.vd.json`).catch(() => JSON.stringify(result.versionData)),
    ]);
    await prisma.$transaction(async (tx) => {
      const last = await tx.patchRevision.findFirst({ where: { patchId }, orderBy: { number: "desc" } });
      await tx.patchRevision.create({
        data: {
          patchId, number: (last?.number ?? 0) + 1, state: "open", manifest, patchSource, xformSource, generatedXform: xformSource, versionData,
          createdById: patch.createdById,
        },
      });
      await tx.patch.update({ where: { id: patchId }, data: { status: "ready", error: null } });
      await recordAudit(tx, { actorId: null, action: "patch.generated", targetType: "patch", targetId: String(patchId), detail: { job: ctx.jobId } });
    });
    await ctx.progress("the patch is ready for review");
    return { patchId, diagnostics: result.diagnostics };
  } catch (e) {
    if (e instanceof RetryLater) {
      await prisma.patch.updateMany({ where: { id: patchId }, data: { status: "queued" } });
      throw e;
    }
    const diagnostics = diagnosticsOf(e) as Diagnostic[];
    for (const d of diagnostics) await ctx.progress(formatDiagnostic(d));
    const message = e instanceof Error ? e.message : String(e);
    await prisma.patch.updateMany({ where: { id: patchId }, data: { status: "failed", error: message } });
    throw new JobFailure(message, diagnostics);
  }
}
