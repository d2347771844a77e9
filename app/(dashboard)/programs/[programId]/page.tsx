import Link from "next/link";
import { notFound } from "next/navigation";
import { requirePageUser } from "@/lib/server/auth/page-user";
import { can } from "@/lib/server/auth/roles";
import { getProgram } from "@/lib/server/versions/get-versions";
import { listPatches } from "@/lib/server/patches/get-patch";
import { AppError } from "@/lib/server/errors";
import { StatusBadge } from "@/components/status-badge";
import { JobProgress } from "@/components/job-progress";
import { UploadVersionForm } from "@/components/upload-version-form";
import { CreatePatchForm } from "@/components/create-patch-form";
import { PatchTable } from "@/components/patch-table";
import { uploadVersionAction, createPatchAction } from "../actions";
import { pageRouteId } from "@/lib/server/route-id";

const DEFAULT_CFLAGS = "-std=c11 -Wall -Wextra -D_POSIX_C_SOURCE=200809L -O2 -g";

export default async function ProgramPage({ params }: { params: Promise<{ programId: string }> }) {
  const user = await requirePageUser();
  const id = pageRouteId((await params).programId);
  const program = await getProgram(id).catch((e) => {
    if (e instanceof AppError && e.code === "not-found") notFound();
    throw e;
  });
  const patches = await listPatches({ programId: id });
  const building = program.versions.filter((v) => (v.status === "queued" || v.status === "building") && v.jobId);
  return (
    <>
      <h1>{program.name}</h1>
      {program.description && <p className="muted">{program.description}</p>}
      <div className="card">
        <h2>Versions</h2>
        {program.versions.length === 0 ? (
          <p className="muted">No versions yet.</p>
        ) : (
          <table data-testid="versions">
            <thead>
              <tr><th>Label</th><th>Status</th><th>Files</th><th>Compiled</th><th>Flags</th><th>Digest</th><th>By</th></tr>
            </thead>
            <tbody>
              {program.versions.map((v) => (
                <tr key={v.id} data-version={v.label}>
                  <td><Link href={`/versions/${v.id}`}>{v.label}</Link></td>
                  <td><StatusBadge status={v.status} /></td>
                  <td>{v.fileCount}</td>
                  <td className="mono">{v.cfiles.join(" ")}</td>
                  <td className="mono">{[...v.cflags, ...v.ldflags].join(" ")}</td>
                  <td className="mono">{v.digest?.slice(0, 12) ?? "—"}</td>
                  <td>{v.createdBy}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {building.map((v) => <JobProgress key={v.jobId!} jobId={v.jobId!} title={`Building ${v.label}`} />)}
        {program.refused.length > 0 && (
          <>
            <h3>Refused uploads</h3>
            <ul data-testid="refused-uploads">
              {program.refused.map((r) => (
                <li key={r.jobId}>
                  <strong>{r.label}</strong>: <span className="error">{r.error}</span>
                  {r.details.length > 0 && <pre className="mono">{r.details.join("\n")}</pre>}
                </li>
              ))}
            </ul>
          </>
        )}
      </div>
      {can(user, "version:upload") && (
        <div className="card">
          <h2>Upload a version</h2>
          <p className="muted">A .tar.gz of the program&apos;s C sources. The worker makes an updateable build of it; sources that do not compile are refused.</p>
          <UploadVersionForm programId={program.id} action={uploadVersionAction as never} defaultCflags={DEFAULT_CFLAGS} />
        </div>
      )}
      <div className="card">
        <h2>Patches</h2>
        {patches.length === 0 ? <p className="muted">No patches yet.</p> : <PatchTable patches={patches} />}
        {can(user, "patch:create") && program.versions.length >= 2 && (
          <>
            <h3>New patch</h3>
            <CreatePatchForm programId={program.id} versions={program.versions.map((v) => ({ id: v.id, label: v.label }))} action={createPatchAction as never} />
          </>
        )}
      </div>
    </>
  );
}
