import "server-only";
import { prisma } from "../../db";
import { checkTransformers } from "../../../patch";
import type { Diagnostic } from "../../../model/diagnostics";
import type { CheckXformPayload } from "../../patches/request-check";
import { checkTransformerSafety } from "../../patches/xform-guard";
import type { JobContext } from "../handlers";
import { runGeneratePatch } from "./regenerate";

/** "Check": compiles edited transformers against the generated patch and returns gcc's diagnostics. */
export async function checkXformJob(payload: unknown, ctx: JobContext): Promise<unknown> {
  const { patchId, revisionId, xformSource } = payload as CheckXformPayload;
  const revision = await prisma.patchRevision.findUnique({ where: { id: revisionId } });
  if (!revision) throw new Error(`revision ${revisionId} no longer exists`);
  // Checked again here: the worker trusts no one with its file system.
  const refused = checkTransformerSafety(xformSource, revision.generatedXform);
  let diagnostics: Diagnostic[];
  if (refused.length) {
    diagnostics = refused.map((p) => ({ code: 7101, category: "error", file: "xform.c", line: p.line, column: p.column, message: p.message }));
  } else {
    await ctx.progress("regenerating the patch");
    const { result } = await runGeneratePatch(patchId, ctx, { quiet: true });
    await ctx.progress("compiling the transformers");
    diagnostics = await checkTransformers({ patchDir: result.patchDir, xformSource });
  }
  const errors = diagnostics.filter((d) => d.category === "error").length;
  await ctx.progress(errors ? `${errors} error(s)` : `no errors (${diagnostics.length} warning(s))`);
  if (xformSource === revision.xformSource)
    await prisma.patchRevision.update({ where: { id: revisionId }, data: { checkResult: JSON.stringify(diagnostics) } });
  return { diagnostics };
}
