"use server";

import { redirect } from "next/navigation";
import { z } from "zod";
import { signIn, signOut } from "@/lib/server/auth/session";
import { runAction, parseInput } from "@/lib/server/actions";
import type { ActionResult } from "@/lib/server/errors";

const SignInSchema = z.object({
  email: z.string().trim().min(3).max(200),
  password: z.string().min(1).max(1000),
});

export async function signInAction(_prev: ActionResult | null, form: FormData): Promise<ActionResult> {
  const r = await runAction(async () => {
    const input = parseInput(SignInSchema, { email: form.get("email"), password: form.get("password") });
    await signIn(input);
    return undefined;
  });
  if (r.ok) redirect("/programs");
  return r;
}

export async function signOutAction(): Promise<void> {
  await signOut();
  redirect("/sign-in");
}
