"use server";

import { revalidatePath } from "next/cache";
import { z } from "zod";
import { requireUser } from "@/lib/server/auth/session";
import { createProgram } from "@/lib/server/programs/programs";
import { createVersion } from "@/lib/server/versions/create-version";
import { createPatch } from "@/lib/server/patches/create-patch";
import { parseInput, runAction } from "@/lib/server/actions";
import { AppError, type ActionResult } from "@/lib/server/errors";

const ProgramSchema = z.object({ name: z.string().trim().min(1).max(40), description: z.string().max(500).default("") });

export async function createProgramAction(_prev: unknown, form: FormData): Promise<ActionResult<{ id: number }>> {
  return runAction(async () => {
    const user = await requireUser("program:write");
    const input = parseInput(ProgramSchema, { name: form.get("name"), description: form.get("description") ?? "" });
    const p = await createProgram({ user, ...input });
    revalidatePath("/programs");
    return { id: p.id };
  });
}

const VersionSchema = z.object({
  programId: z.coerce.number().int().positive(),
  label: z.string().trim().min(1).max(40),
  cflags: z.string().max(2000).default(""),
  ldflags: z.string().max(2000).default(""),
});

export async function uploadVersionAction(_prev: unknown, form: FormData): Promise<ActionResult<{ versionId: number; jobId: number }>> {
  return runAction(async () => {
    const user = await requireUser("version:upload");
    const input = parseInput(VersionSchema, {
      programId: form.get("programId"),
      label: form.get("label"),
      cflags: form.get("cflags") ?? "",
      ldflags: form.get("ldflags") ?? "",
    });
    const file = form.get("archive");
    if (!(file instanceof File) || file.size === 0) throw new AppError("bad-archive", "The upload was refused: choose a .tar.gz file of the sources.");
    const archive = Buffer.from(await file.arrayBuffer());
    const r = await createVersion({ user, ...input, archive });
    revalidatePath(`/programs/${input.programId}`);
    return r;
  });
}

const PatchSchema = z.object({
  programId: z.coerce.number().int().positive(),
  baseVersionId: z.coerce.number().int().positive(),
  targetVersionId: z.coerce.number().int().positive(),
  title: z.string().max(200).default(""),
});

export async function createPatchAction(_prev: unknown, form: FormData): Promise<ActionResult<{ patchId: number }>> {
  return runAction(async () => {
    const user = await requireUser("patch:create");
    const input = parseInput(PatchSchema, {
      programId: form.get("programId"),
      baseVersionId: form.get("baseVersionId"),
      targetVersionId: form.get("targetVersionId"),
      title: form.get("title") ?? "",
    });
    const r = await createPatch({ user, ...input });
    revalidatePath(`/programs/${input.programId}`);
    return { patchId: r.patchId };
  });
}
