"use client";

import { useActionState } from "react";

type Result = { ok: true } | { ok: false; error: string } | null;

export function SignInForm({ action }: { action: (prev: never, form: FormData) => Promise<unknown> }) {
  const [state, formAction, pending] = useActionState(action as (prev: Result, form: FormData) => Promise<Result>, null);
  return (
    <form action={formAction}>
      <label htmlFor="email">Email</label>
      <input id="email" name="email" type="email" autoComplete="username" required />
      <label htmlFor="password">Password</label>
      <input id="password" name="password" type="password" autoComplete="current-password" required />
      {state && !state.ok && <p className="notice error" role="alert">{state.error}</p>}
      <p>
        <button type="submit" disabled={pending}>{pending ? "Signing in…" : "Sign in"}</button>
      </p>
    </form>
  );
}
