"use client";

import { useActionState } from "react";
import { JobProgress } from "./job-progress";

type Result = { ok: true; data: { versionId: number; jobId: number } } | { ok: false; error: string } | null;

/** Upload of a .tar.gz of C sources plus build settings; then the build's live progress. */
export function UploadVersionForm({ programId, action, defaultCflags }: { programId: number; action: (prev: Result, form: FormData) => Promise<Result>; defaultCflags: string }) {
  const [state, formAction, pending] = useActionState(action, null);
  return (
    <div data-testid="upload-version">
      <form action={formAction}>
        <input type="hidden" name="programId" value={programId} />
        <div className="grid2">
          <div>
            <label htmlFor="label">Version label</label>
            <input id="label" name="label" type="text" placeholder="v1" required />
          </div>
          <div>
            <label htmlFor="archive">Sources (.tar.gz)</label>
            <input id="archive" name="archive" type="file" accept=".tar.gz,.tgz,.tar,application/gzip" required />
          </div>
          <div>
            <label htmlFor="cflags">Compiler flags</label>
            <input id="cflags" name="cflags" type="text" defaultValue={defaultCflags} />
          </div>
          <div>
            <label htmlFor="ldflags">Linker flags</label>
            <input id="ldflags" name="ldflags" type="text" placeholder="-lm" />
          </div>
        </div>
        {state && !state.ok && <p className="notice error" role="alert">{state.error}</p>}
        <p>
          <button type="submit" disabled={pending}>{pending ? "Uploading…" : "Upload version"}</button>
        </p>
      </form>
      {state?.ok && <JobProgress key={state.data.jobId} jobId={state.data.jobId} title="Updateable build" />}
    </div>
  );
}
