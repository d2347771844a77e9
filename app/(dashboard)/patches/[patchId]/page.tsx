import Link from "next/link";
import { notFound } from "next/navigation";
import { requirePageUser } from "@/lib/server/auth/page-user";
import { getPatchReview } from "@/lib/server/patches/get-patch";
import { listAuditEvents } from "@/lib/server/audit/list-audit";
import { AppError } from "@/lib/server/errors";
import { StatusBadge } from "@/components/status-badge";
import { JobProgress } from "@/components/job-progress";
import { ActionForm, type FormAction } from "@/components/action-form";
import { FunctionDiffs } from "@/components/review/function-diffs";
import { TransformerPanel } from "@/components/review/transformer-panel";
import { buildBundleAction, checkTransformersAction, commentAction, reviewAction, saveTransformersAction } from "./actions";
import { pageRouteId } from "@/lib/server/route-id";

export default async function PatchReviewPage({ params }: { params: Promise<{ patchId: string }> }) {
  const user = await requirePageUser();
  const patchId = pageRouteId((await params).patchId);
  const p = await getPatchReview({ user, patchId }).catch((e) => {
    if (e instanceof AppError && e.code === "not-found") notFound();
    throw e;
  });
  const audit = await listAuditEvents({ user, targetType: "patch", targetId: String(p.id), limit: 50 });
  const rev = p.revision;
  const m = p.model;
  const changed = m?.functions.filter((f) => f.status !== "noise") ?? [];
  const noise = m?.functions.filter((f) => f.status === "noise") ?? [];
  const generating = p.status === "queued" || p.status === "generating";
  return (
    <>
      <h1 data-testid="patch-title">
        {p.title} <StatusBadge status={p.status} /> {rev && <StatusBadge status={rev.state} />}
      </h1>
      <p className="muted">
        <Link href={`/programs/${p.program.id}`}>{p.program.name}</Link>: <Link href={`/versions/${p.base.id}`}>{p.base.label}</Link> →{" "}
        <Link href={`/versions/${p.target.id}`}>{p.target.label}</Link> · by {p.author.email} · {rev ? `revision ${rev.number} of ${p.revisions.length}` : "not generated yet"}
      </p>
      {p.jobId && (generating || p.status === "failed") && <JobProgress jobId={p.jobId} title="Patch generation" />}
      {p.error && <p className="notice error">{p.error}</p>}

      {m && (
        <div className="card" data-testid="summary">
          <h2>Summary</h2>
          <p>
            <strong>{m.counts.functions}</strong> function(s), <strong>{m.counts.types}</strong> type(s), <strong>{m.counts.globals}</strong> global(s) changed
            {m.counts.noise > 0 && <>; {m.counts.noise} noise-only change(s) set apart below</>}.
          </p>
          {m.warnings.length > 0 && (
            <ul>{m.warnings.map((w, i) => <li key={i} className="notice error" style={{ listStyle: "none" }}>{w}</li>)}</ul>
          )}
          <h3>Safety per update point</h3>
          <table data-testid="safety">
            <thead><tr><th>Point</th><th>Where</th><th>In</th><th>Verdict</th><th>Why</th></tr></thead>
            <tbody>
              {m.updatePoints.map((u) => (
                <tr key={u.id}>
                  <td>{u.id}</td>
                  <td className="mono">{u.where}</td>
                  <td className="mono">{u.function}</td>
                  <td><span className={`badge ${u.safe ? "safe" : "unsafe"}`}>{u.safe ? "safe" : "unsafe"}</span></td>
                  <td>{u.reasons.join("; ") || "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {m.threads.length > 0 && (
            <table data-testid="threads">
              <thead><tr><th>Thread</th><th>Started at</th><th>Must wait at</th><th>While waiting in a call</th></tr></thead>
              <tbody>
                {m.threads.map((t) => (
                  <tr key={`${t.entry}@${t.where}`}>
                    <td className="mono">{t.entry}</td>
                    <td className="mono">{t.where}</td>
                    <td>
                      {t.safePoints.length
                        ? `point${t.safePoints.length === 1 ? "" : "s"} ${t.safePoints.join(", ")}`
                        : t.idle?.safe
                          ? "no update point: it must be waiting in a call"
                          : <span className="badge unsafe">{t.unsafePoints.length ? "no safe point: refused at the timeout" : "reaches no update point: refused at the timeout"}</span>}
                    </td>
                    <td>
                      {!t.idle ? "—" : t.idle.safe
                        ? <span className="badge safe">counts as arrived</span>
                        : <span title={t.idle.reasons.join("; ")}>must reach a point ({t.idle.reasons[0] ?? "unsafe"})</span>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}

      {m && (
        <div className="card">
          <h2>Functions</h2>
          {changed.length ? <FunctionDiffs functions={changed.map((f) => ({ ...f, note: f.noiseReason }))} /> : <p className="muted">No function changed.</p>}
          {noise.length > 0 && (
            <details data-testid="noise">
              <summary>{noise.length} noise-only change(s) (not in the patch)</summary>
              <FunctionDiffs functions={noise.map((f) => ({ ...f, note: f.noiseReason }))} />
            </details>
          )}
        </div>
      )}

      {m && m.types.length > 0 && (
        <div className="card" data-testid="types">
          <h2>Types</h2>
          {m.types.map((t) => (
            <div key={t.key}>
              <h3><span className="mono">{t.spelling}</span> <span className={`badge ${t.status}`}>{t.status}</span> {t.fixed && <span className="muted">{t.fixed}</span>}</h3>
              <table>
                <thead><tr><th>Field</th><th>Old type</th><th>New type</th><th>Change</th></tr></thead>
                <tbody>
                  {t.fields.map((f) => (
                    <tr key={f.name}>
                      <td className="mono">{f.name}</td>
                      <td className="mono">{f.oldType ?? "—"}</td>
                      <td className="mono">{f.newType ?? "—"}</td>
                      <td>{f.status === "same" ? <span className="muted">same</span> : <span className={`badge ${f.status === "removed" ? "failed" : "queued"}`}>{f.status}</span>}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ))}
        </div>
      )}

      {m && m.globals.length > 0 && (
        <div className="card">
          <h2>Globals</h2>
          <table>
            <thead><tr><th>Name</th><th>Where</th><th>Change</th><th>Old type</th><th>New type</th></tr></thead>
            <tbody>
              {m.globals.map((g) => (
                <tr key={`${g.file}:${g.name}`}>
                  <td className="mono">{g.name}</td><td className="mono">{g.file}</td><td>{g.status}</td>
                  <td className="mono">{g.oldType ?? "—"}</td><td className="mono">{g.newType ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      {rev && (
        <div className="card">
          <h2>Type transformers <span className="muted">(xform.c, revision {rev.number})</span></h2>
          <p className="muted">Edit the bodies; keep the names and parameters. No <code>#include</code>, other directives or <code>asm</code>.</p>
          <TransformerPanel
            patchId={p.id}
            revision={rev.number}
            source={rev.xformSource}
            canEdit={p.permissions.edit}
            initialDiagnostics={(rev.checkResult as never) ?? null}
            save={saveTransformersAction}
            check={checkTransformersAction}
          />
          {rev.generatedXform && rev.xformSource !== rev.generatedXform && (
            <details data-testid="xform-edits">
              <summary>What the edits changed (generated → revision {rev.number})</summary>
              <FunctionDiffs functions={[{ uname: "xform.c", name: "xform.c", file: "edited by reviewers", status: "changed", oldSource: rev.generatedXform, newSource: rev.xformSource }]} />
            </details>
          )}
          <details>
            <summary>Generated patch source (patch.c)</summary>
            <pre>{rev.patchSource}</pre>
          </details>
        </div>
      )}

      {rev && (
        <div className="card" data-testid="review">
          <h2>Review of revision {rev.number}</h2>
          <p className="muted">Content digest <code className="mono" data-testid="revision-digest">{rev.digest}</code>: an approval is of exactly this.</p>
          {rev.reviews.length === 0 ? <p className="muted">No reviews of this revision yet.</p> : (
            <ul>
              {rev.reviews.map((r) => (
                <li key={r.id}><StatusBadge status={r.decision === "approve" ? "approved" : "rejected"} /> {r.name} <span className="mono muted" title="the revision digest approved">{r.digest.slice(0, 12)}</span>{r.comment && <>: {r.comment}</>}</li>
              ))}
            </ul>
          )}
          {p.permissions.review ? (
            <div className="grid2">
              <ActionForm action={reviewAction as unknown as FormAction} submit="Approve" success="Recorded." testId="approve-form">
                <input type="hidden" name="patchId" value={p.id} />
                <input type="hidden" name="revision" value={rev.number} />
                <input type="hidden" name="digest" value={rev.digest} />
                <input type="hidden" name="decision" value="approve" />
                <label htmlFor="approve-comment">Comment (optional)</label>
                <textarea id="approve-comment" name="comment" rows={2} />
              </ActionForm>
              <ActionForm action={reviewAction as unknown as FormAction} submit="Reject" success="Recorded." testId="reject-form" danger>
                <input type="hidden" name="patchId" value={p.id} />
                <input type="hidden" name="revision" value={rev.number} />
                <input type="hidden" name="digest" value={rev.digest} />
                <input type="hidden" name="decision" value="reject" />
                <label htmlFor="reject-comment">Why (required)</label>
                <textarea id="reject-comment" name="comment" rows={2} />
              </ActionForm>
            </div>
          ) : (
            <p className="muted" data-testid="review-blocked">{p.permissions.reviewBlockedReason}</p>
          )}
        </div>
      )}

      <div className="card" data-testid="bundles">
        <h2>Bundles</h2>
        {p.bundles.length === 0 && <p className="muted">No bundle yet. An approved revision can be built into a signed bundle.</p>}
        {p.bundles.length > 0 && (
          <table>
            <thead><tr><th>File</th><th>Revision</th><th>Status</th><th>Sequence</th><th>SHA-256</th><th>Key</th></tr></thead>
            <tbody>
              {p.bundles.map((b) => (
                <tr key={b.id}>
                  <td>{b.status === "ready" && p.permissions.download ? <a href={`/api/bundles/${b.id}`} download={b.fileName}>{b.fileName}</a> : b.fileName}</td>
                  <td>r{b.revision}</td>
                  <td><StatusBadge status={b.status} />{b.error && <span className="error"> {b.error}</span>}</td>
                  <td>{b.sequence}</td>
                  <td className="mono">{b.sha256?.slice(0, 16) ?? "—"}</td>
                  <td className="mono">{b.keyId ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {p.bundles.filter((b) => (b.status === "queued" || b.status === "building") && b.jobId).map((b) => (
          <JobProgress key={b.jobId!} jobId={b.jobId!} title={`Building ${b.fileName}`} />
        ))}
        {p.permissions.build && (
          <ActionForm action={buildBundleAction as unknown as FormAction} submit="Build signed bundle" success="Queued." testId="build-bundle">
            <input type="hidden" name="patchId" value={p.id} />
          </ActionForm>
        )}
      </div>

      <div className="card" data-testid="comments">
        <h2>Comments</h2>
        {p.comments.length === 0 && <p className="muted">No comments yet.</p>}
        {p.comments.map((c) => (
          <div key={c.id} style={{ borderBottom: "1px solid var(--line)", padding: "6px 0" }}>
            <span className="muted">{c.author} on r{c.revision}, {new Date(c.at).toUTCString()}</span>
            <p style={{ margin: "4px 0", whiteSpace: "pre-wrap" }}>{c.body}</p>
          </div>
        ))}
        <ActionForm action={commentAction as unknown as FormAction} submit="Comment" testId="comment-form">
          <input type="hidden" name="patchId" value={p.id} />
          <label htmlFor="body">Add a comment</label>
          <textarea id="body" name="body" rows={3} required />
        </ActionForm>
      </div>

      <div className="card">
        <h2>History</h2>
        <table>
          <thead><tr><th>Revision</th><th>State</th><th>By</th><th>Edited by</th><th>Made</th></tr></thead>
          <tbody data-testid="history">
            {p.revisions.map((r) => <tr key={r.id}><td>r{r.number}</td><td><StatusBadge status={r.state} /></td><td>{r.createdBy}</td><td>{r.editedBy.join(", ") || "—"}</td><td>{new Date(r.createdAt).toUTCString()}</td></tr>)}
          </tbody>
        </table>
        <h3>Audit</h3>
        <ul className="mono" data-testid="patch-audit">
          {audit.map((a) => <li key={a.id}>{a.at.replace("T", " ").slice(0, 19)} {a.actor} {a.action} {JSON.stringify(a.detail)}</li>)}
        </ul>
      </div>
    </>
  );
}
