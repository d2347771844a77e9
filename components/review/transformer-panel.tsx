"use client";

import { useState, useTransition } from "react";
import { useRouter } from "next/navigation";
import { CodeEditor, type EditorMarker } from "../monaco";

interface Diag {
  line?: number;
  column?: number;
  message: string;
  category: "error" | "warning" | "info";
}

type Result<T> = { ok: true; data: T } | { ok: false; error: string };

/**
 * The generated transformers in Monaco, editable. "Check" compiles the text in
 * the editor on the worker and shows gcc's diagnostics as markers; "Save"
 * stores it (a new revision if the current one was reviewed).
 */
export function TransformerPanel(props: {
  patchId: number;
  revision: number;
  source: string;
  canEdit: boolean;
  initialDiagnostics: Diag[] | null;
  save: (input: { patchId: number; baseRevision: number; xformSource: string }) => Promise<Result<{ revision: number; newRevision: boolean }>>;
  check: (input: { patchId: number; xformSource: string }) => Promise<Result<{ jobId?: number; refused?: { line: number; column: number; message: string }[] }>>;
}) {
  const router = useRouter();
  const [text, setText] = useState(props.source);
  const [diags, setDiags] = useState<Diag[] | null>(props.initialDiagnostics);
  const [status, setStatus] = useState<{ kind: "ok" | "error" | "info"; text: string } | null>(null);
  const [checking, setChecking] = useState(false);
  const [saving, startSave] = useTransition();
  const dirty = text !== props.source;

  const markers: EditorMarker[] = (diags ?? [])
    .filter((d) => d.line)
    .map((d) => ({ line: d.line!, column: d.column, message: d.message, severity: d.category }));

  async function runCheck() {
    setChecking(true);
    setStatus({ kind: "info", text: "Checking on the worker…" });
    try {
      const r = await props.check({ patchId: props.patchId, xformSource: text });
      if (!r.ok) return setStatus({ kind: "error", text: r.error });
      if (r.data.refused) {
        setDiags(r.data.refused.map((p) => ({ ...p, category: "error" as const })));
        return setStatus({ kind: "error", text: `Refused: ${r.data.refused[0].message} (line ${r.data.refused[0].line})` });
      }
      const jobId = r.data.jobId!;
      for (;;) {
        await new Promise((res) => setTimeout(res, 800));
        const res = await fetch(`/api/jobs/${jobId}`, { cache: "no-store" });
        if (!res.ok) continue;
        const job = (await res.json()) as { status: string; error: string | null; result: { diagnostics?: Diag[] } | null };
        if (job.status === "queued" || job.status === "running") continue;
        if (job.status === "failed") return setStatus({ kind: "error", text: `The check could not run: ${job.error}` });
        const ds = job.result?.diagnostics ?? [];
        setDiags(ds);
        const errors = ds.filter((d) => d.category === "error").length;
        return setStatus(errors ? { kind: "error", text: `${errors} error(s): see the markers in the editor` } : { kind: "ok", text: `Compiles (${ds.length} warning(s))` });
      }
    } finally {
      setChecking(false);
    }
  }

  function runSave() {
    startSave(async () => {
      const r = await props.save({ patchId: props.patchId, baseRevision: props.revision, xformSource: text });
      if (!r.ok) return setStatus({ kind: "error", text: r.error });
      setStatus({ kind: "ok", text: r.data.newRevision ? `Saved as revision ${r.data.revision}; earlier approvals no longer apply.` : `Saved in revision ${r.data.revision}.` });
      router.refresh();
    });
  }

  return (
    <div data-testid="transformers">
      <CodeEditor key={`${props.revision}:${props.source.length}`} value={props.source} onChange={setText} markers={markers} readOnly={!props.canEdit} testId="xform-editor" />
      <div className="row" style={{ marginTop: 8 }}>
        {props.canEdit && (
          <>
            <button type="button" onClick={runCheck} disabled={checking}>{checking ? "Checking…" : "Check"}</button>
            <button type="button" className="secondary" onClick={runSave} disabled={saving || !dirty}>{saving ? "Saving…" : "Save"}</button>
          </>
        )}
        {dirty && <span className="muted">unsaved changes</span>}
        {status && <span className={`notice ${status.kind === "info" ? "" : status.kind}`} data-testid="check-status">{status.text}</span>}
      </div>
      {diags && diags.length > 0 && (
        <ul data-testid="diagnostics">
          {diags.map((d, i) => (
            <li key={i} className={d.category === "error" ? "error" : "muted"}>
              <span className="mono">xform.c:{d.line ?? "?"}{d.column ? `:${d.column}` : ""}</span> {d.category}: {d.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
