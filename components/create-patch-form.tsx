"use client";

import { useActionState, useEffect } from "react";
import { useRouter } from "next/navigation";

type Result = { ok: true; data: { patchId: number } } | { ok: false; error: string } | null;

export function CreatePatchForm(props: { programId: number; versions: { id: number; label: string }[]; action: (prev: Result, form: FormData) => Promise<Result> }) {
  const [state, formAction, pending] = useActionState(props.action, null);
  const router = useRouter();
  useEffect(() => {
    if (state?.ok) router.push(`/patches/${state.data.patchId}`);
  }, [state, router]);
  const n = props.versions.length;
  return (
    <form action={formAction} data-testid="create-patch">
      <input type="hidden" name="programId" value={props.programId} />
      <div className="grid2">
        <div>
          <label htmlFor="baseVersionId">Base (running) version</label>
          <select id="baseVersionId" name="baseVersionId" defaultValue={props.versions[Math.max(0, n - 2)]?.id}>
            {props.versions.map((v) => <option key={v.id} value={v.id}>{v.label}</option>)}
          </select>
        </div>
        <div>
          <label htmlFor="targetVersionId">Target version</label>
          <select id="targetVersionId" name="targetVersionId" defaultValue={props.versions[n - 1]?.id}>
            {props.versions.map((v) => <option key={v.id} value={v.id}>{v.label}</option>)}
          </select>
        </div>
      </div>
      <label htmlFor="title">Title (optional)</label>
      <input id="title" name="title" type="text" />
      {state && !state.ok && <p className="notice error" role="alert">{state.error}</p>}
      <p>
        <button type="submit" disabled={pending || n < 2}>{pending ? "Creating…" : "Create patch"}</button>
      </p>
    </form>
  );
}
