"use server";

import { revalidatePath } from "next/cache";
import { z } from "zod";
import { requireUser } from "@/lib/server/auth/session";
import { parseInput, runAction } from "@/lib/server/actions";
import type { ActionResult } from "@/lib/server/errors";
import { createUser } from "@/lib/server/users/create-user";
import { ROLES } from "@/lib/server/auth/roles";

const UserSchema = z.object({
  email: z.string().trim().min(3).max(200),
  name: z.string().trim().max(100).default(""),
  role: z.enum(ROLES),
  password: z.string().min(10).max(1000),
});

export async function createUserAction(_prev: unknown, form: FormData): Promise<ActionResult<{ id: number }>> {
  return runAction(async () => {
    const actor = await requireUser("users:manage");
    const v = parseInput(UserSchema, { email: form.get("email"), name: form.get("name") ?? "", role: form.get("role"), password: form.get("password") });
    const u = await createUser({ actor, ...v });
    revalidatePath("/users");
    return { id: u.id };
  });
}
