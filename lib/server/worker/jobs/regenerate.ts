import "server-only";
import fs from "node:fs/promises";
import path from "node:path";
import { prisma } from "../../db";
import { generatePatch } from "../../../patch";
import { RUNTIME_INCLUDE } from "../../../compile/toolchain";
import type { JobContext } from "../handlers";
import { writeSources } from "./files";
import { RetryLater } from "../../jobs/queue";

/** Flags every server build gets: where graft.h lives (a server path, not user input). */
export function serverCflags(userFlags: string[]): string[] {
  return [...userFlags, `-I${RUNTIME_INCLUDE}`];
}

/**
 * Runs `graft patch` for a patch inside the job's directory: the base
 * version's data, the target's sources, optionally edited transformers.
 */
export async function runGeneratePatch(patchId: number, ctx: JobContext, opts: { xformSource?: string; quiet?: boolean } = {}) {
  const patch = await prisma.patch.findUnique({ where: { id: patchId }, include: { program: true, baseVersion: true, targetVersion: true } });
  if (!patch) throw new Error(`patch ${patchId} no longer exists`);
  for (const v of [patch.baseVersion, patch.targetVersion]) {
    if (v.status === "queued" || v.status === "building") throw new RetryLater(`waiting for ${v.label} to build`, 2_000);
    if (v.status !== "ready" || !v.versionData) throw new Error(`${v.label} did not build, so the patch cannot be made`);
  }
  const base = path.join(ctx.workDir, "base");
  const src = path.join(ctx.workDir, "src");
  const out = path.join(ctx.workDir, "patch");
  await fs.mkdir(base, { recursive: true });
  await fs.writeFile(path.join(base, `${patch.program.name}.vd.json`), patch.baseVersion.versionData!);
  await writeSources(src, JSON.parse(patch.targetVersion.sources));
  let xformFile: string | undefined;
  if (opts.xformSource !== undefined) {
    xformFile = path.join(ctx.workDir, "xform.edited.c");
    await fs.writeFile(xformFile, opts.xformSource);
  }
  const result = await generatePatch({
    from: base,
    files: JSON.parse(patch.targetVersion.cfiles),
    outDir: out,
    cwd: src,
    cflags: serverCflags(JSON.parse(patch.targetVersion.cflags)),
    ldflags: JSON.parse(patch.targetVersion.ldflags),
    xformFile,
    onProgress: opts.quiet ? undefined : (msg) => void ctx.progress(msg),
  });
  return { patch, result };
}
