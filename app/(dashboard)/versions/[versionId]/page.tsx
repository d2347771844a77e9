import Link from "next/link";
import { notFound } from "next/navigation";
import { requirePageUser } from "@/lib/server/auth/page-user";
import { getVersion } from "@/lib/server/versions/get-versions";
import { AppError } from "@/lib/server/errors";
import { StatusBadge } from "@/components/status-badge";
import { JobProgress } from "@/components/job-progress";
import { pageRouteId } from "@/lib/server/route-id";

export default async function VersionPage({ params }: { params: Promise<{ versionId: string }> }) {
  await requirePageUser();
  const v = await getVersion(pageRouteId((await params).versionId)).catch((e) => {
    if (e instanceof AppError && e.code === "not-found") notFound();
    throw e;
  });
  return (
    <>
      <h1>
        <Link href={`/programs/${v.program.id}`}>{v.program.name}</Link> {v.label} <StatusBadge status={v.status} />
      </h1>
      <div className="card">
        <table>
          <tbody>
            <tr><th>Compiled files</th><td className="mono">{v.cfiles.join(" ")}</td></tr>
            <tr><th>Compiler flags</th><td className="mono">{v.cflags.join(" ") || "—"}</td></tr>
            <tr><th>Linker flags</th><td className="mono">{v.ldflags.join(" ") || "—"}</td></tr>
            <tr><th>Version digest</th><td className="mono">{v.digest ?? "—"}</td></tr>
            {v.summary && (
              <tr><th>Program model</th><td>{v.summary.functions} functions, {v.summary.types} types, {v.summary.globals} globals, {v.summary.updatePoints} update points</td></tr>
            )}
            <tr><th>Uploaded</th><td>{v.createdBy}, {new Date(v.createdAt).toUTCString()}</td></tr>
          </tbody>
        </table>
      </div>
      {v.jobId && <JobProgress jobId={v.jobId} title="Updateable build" />}
      {v.diagnostics.length > 0 && (
        <div className="card">
          <h2>Build diagnostics</h2>
          <ul className="mono">
            {(v.diagnostics as { code?: number; category?: string; message?: string; file?: string; line?: number }[]).map((d, i) => (
              <li key={i}>{d.file ? `${d.file}${d.line ? `:${d.line}` : ""}: ` : ""}{d.category} GR{d.code}: {d.message}</li>
            ))}
          </ul>
        </div>
      )}
      <div className="card">
        <h2>Sources</h2>
        {v.files.map((f) => (
          <details key={f.path}>
            <summary className="mono">{f.path}</summary>
            <pre>{f.content}</pre>
          </details>
        ))}
      </div>
    </>
  );
}
