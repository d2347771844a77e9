"use server";

import { revalidatePath } from "next/cache";
import { z } from "zod";
import { requireUser } from "@/lib/server/auth/session";
import { parseInput, runAction } from "@/lib/server/actions";
import type { ActionResult } from "@/lib/server/errors";
import { createApiToken, revokeApiToken } from "@/lib/server/auth/api-tokens";

export async function createTokenAction(_prev: unknown, form: FormData): Promise<ActionResult<{ token: string }>> {
  return runAction(async () => {
    const user = await requireUser();
    const v = parseInput(z.object({ name: z.string().trim().min(1).max(100) }), { name: form.get("name") });
    const { token } = await createApiToken({ user, name: v.name });
    revalidatePath("/tokens");
    return { token };
  });
}

export async function revokeTokenAction(_prev: unknown, form: FormData): Promise<ActionResult<undefined>> {
  return runAction(async () => {
    const user = await requireUser();
    const v = parseInput(z.object({ id: z.coerce.number().int().positive() }), { id: form.get("id") });
    await revokeApiToken({ user, id: v.id });
    revalidatePath("/tokens");
    return undefined;
  });
}
