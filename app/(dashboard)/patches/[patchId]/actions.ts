"use server";

import { revalidatePath } from "next/cache";
import { z } from "zod";
import { requireUser } from "@/lib/server/auth/session";
import { parseInput, runAction } from "@/lib/server/actions";
import type { ActionResult } from "@/lib/server/errors";
import { editTransformers } from "@/lib/server/patches/edit-transformers";
import { requestTransformerCheck } from "@/lib/server/patches/request-check";
import { reviewPatch } from "@/lib/server/patches/review-patch";
import { addComment } from "@/lib/server/patches/add-comment";
import { requestBundle } from "@/lib/server/bundles/request-bundle";

const PatchId = z.coerce.number().int().positive();
const Xform = z.string().max(512 * 1024);

export async function saveTransformersAction(input: { patchId: number; baseRevision: number; xformSource: string }): Promise<ActionResult<{ revision: number; newRevision: boolean }>> {
  return runAction(async () => {
    const user = await requireUser("patch:edit");
    const v = parseInput(z.object({ patchId: PatchId, baseRevision: z.number().int().positive(), xformSource: Xform }), input);
    const r = await editTransformers({ user, ...v });
    revalidatePath(`/patches/${v.patchId}`);
    return r;
  });
}

export async function checkTransformersAction(input: { patchId: number; xformSource: string }): Promise<ActionResult<{ jobId?: number; refused?: { line: number; column: number; message: string }[] }>> {
  return runAction(async () => {
    const user = await requireUser("patch:edit");
    const v = parseInput(z.object({ patchId: PatchId, xformSource: Xform }), input);
    return requestTransformerCheck({ user, ...v });
  });
}

const ReviewSchema = z.object({
  patchId: PatchId,
  revision: z.coerce.number().int().positive(),
  digest: z.string().regex(/^[0-9a-f]{64}$/, "digest must be 64 hex digits"),
  decision: z.enum(["approve", "reject"]),
  comment: z.string().max(10_000).default(""),
});

export async function reviewAction(_prev: unknown, form: FormData): Promise<ActionResult<{ state: string }>> {
  return runAction(async () => {
    const user = await requireUser("patch:review");
    const v = parseInput(ReviewSchema, { patchId: form.get("patchId"), revision: form.get("revision"), digest: form.get("digest"), decision: form.get("decision"), comment: form.get("comment") ?? "" });
    const r = await reviewPatch({ user, ...v });
    revalidatePath(`/patches/${v.patchId}`);
    return r;
  });
}

export async function commentAction(_prev: unknown, form: FormData): Promise<ActionResult<undefined>> {
  return runAction(async () => {
    const user = await requireUser("patch:comment");
    const v = parseInput(z.object({ patchId: PatchId, body: z.string().min(1).max(10_000) }), { patchId: form.get("patchId"), body: form.get("body") });
    await addComment({ user, ...v });
    revalidatePath(`/patches/${v.patchId}`);
    return undefined;
  });
}

export async function buildBundleAction(_prev: unknown, form: FormData): Promise<ActionResult<{ bundleId: number; jobId: number }>> {
  return runAction(async () => {
    const user = await requireUser("bundle:build");
    const v = parseInput(z.object({ patchId: PatchId }), { patchId: form.get("patchId") });
    const r = await requestBundle({ user, ...v });
    revalidatePath(`/patches/${v.patchId}`);
    return r;
  });
}
