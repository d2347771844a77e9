"use client";

import { useActionState, type ReactNode } from "react";

export type FormResult = { ok: true; data?: unknown } | { ok: false; error: string } | null;
export type FormAction = (prev: FormResult, form: FormData) => Promise<FormResult>;

/**
 * A form bound to a server action that returns `{ ok } | { ok: false, error }`:
 * shows the error, or `success` once it worked.
 */
export function ActionForm(props: { action: FormAction; children: ReactNode; submit: string; pendingText?: string; success?: string; className?: string; encType?: string; testId?: string; danger?: boolean }) {
  const [state, formAction, pending] = useActionState(props.action, null);
  return (
    <form action={formAction} className={props.className} data-testid={props.testId}>
      {props.children}
      {state && !state.ok && <p className="notice error" role="alert">{state.error}</p>}
      {state?.ok && props.success && <p className="notice ok" role="status">{props.success}</p>}
      <p>
        <button type="submit" disabled={pending} className={props.danger ? "danger" : undefined}>
          {pending ? (props.pendingText ?? "Working…") : props.submit}
        </button>
      </p>
    </form>
  );
}
