"use client";

import { useActionState } from "react";

type Result = { ok: true; data: { token: string } } | { ok: false; error: string } | null;

/** Creates an API token; its secret is shown once. */
export function TokenForm({ action }: { action: (prev: Result, form: FormData) => Promise<Result> }) {
  const [state, formAction, pending] = useActionState(action, null);
  return (
    <form action={formAction}>
      <label htmlFor="name">Token name</label>
      <input id="name" name="name" type="text" placeholder="laptop CLI" required />
      {state && !state.ok && <p className="notice error">{state.error}</p>}
      {state?.ok && (
        <div className="notice ok">
          Copy it now, it is not shown again: <code data-testid="new-token">{state.data.token}</code>
        </div>
      )}
      <p><button type="submit" disabled={pending}>Create token</button></p>
    </form>
  );
}
