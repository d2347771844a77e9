import "server-only";
import { prisma } from "../db";
import { AppError } from "../errors";

export interface VersionDto {
  id: number;
  label: string;
  status: string;
  cflags: string[];
  ldflags: string[];
  cfiles: string[];
  fileCount: number;
  jobId: number | null;
  createdBy: string;
  createdAt: string;
  digest: string | null;
}

export interface RefusedUploadDto {
  jobId: number;
  label: string;
  error: string;
  /** the first compiler diagnostics, formatted */
  details: string[];
  at: string;
}

function firstDiagnostics(result: string | null): string[] {
  try {
    const ds = (JSON.parse(result ?? "null") as { diagnostics?: { file?: string; line?: number; category?: string; code?: number; message?: string }[] } | null)?.diagnostics ?? [];
    return ds.slice(0, 3).map((d) => `${d.file ? `${d.file}${d.line ? `:${d.line}` : ""}: ` : ""}${d.category ?? "error"} GR${d.code}: ${(d.message ?? "").split("\n").slice(0, 4).join(" ")}`);
  } catch {
    return [];
  }
}

export interface ProgramDetailDto {
  id: number;
  name: string;
  description: string;
  versions: VersionDto[];
  refused: RefusedUploadDto[];
}

function digestOf(vd: string | null): string | null {
  if (!vd) return null;
  const m = /"digest"\s*:\s*"([0-9a-f]{64})"/.exec(vd);
  return m ? m[1] : null;
}

export async function getProgram(programId: number): Promise<ProgramDetailDto> {
  const p = await prisma.program.findUnique({
    where: { id: programId },
    include: {
      versions: {
        orderBy: { id: "asc" },
        select: { id: true, label: true, status: true, cflags: true, ldflags: true, cfiles: true, sources: true, jobId: true, createdAt: true, versionData: true, createdBy: { select: { email: true } } },
      },
    },
  });
  if (!p) throw new AppError("not-found", "No such program.");
  const failedBuilds = await prisma.job.findMany({ where: { programId, kind: "build-version", status: "failed" }, orderBy: { id: "desc" }, take: 10 });
  const live = new Set(p.versions.map((v) => v.id));
  return {
    id: p.id,
    name: p.name,
    description: p.description,
    versions: p.versions.map((v) => ({
      id: v.id,
      label: v.label,
      status: v.status,
      cflags: JSON.parse(v.cflags),
      ldflags: JSON.parse(v.ldflags),
      cfiles: JSON.parse(v.cfiles),
      fileCount: (JSON.parse(v.sources) as unknown[]).length,
      jobId: v.jobId,
      createdBy: v.createdBy.email,
      createdAt: v.createdAt.toISOString(),
      digest: digestOf(v.versionData),
    })),
    refused: failedBuilds
      .map((j) => ({ job: j, payload: JSON.parse(j.payload) as { versionId: number; label?: string } }))
      .filter(({ payload }) => !live.has(payload.versionId))
      .map(({ job, payload }) => ({
        jobId: job.id,
        label: payload.label ?? `#${payload.versionId}`,
        error: job.error ?? "",
        details: firstDiagnostics(job.result),
        at: job.createdAt.toISOString(),
      })),
  };
}

export interface VersionDetailDto extends VersionDto {
  program: { id: number; name: string };
  files: { path: string; content: string }[];
  diagnostics: unknown[];
  summary: { functions: number; types: number; globals: number; updatePoints: number } | null;
}

export async function getVersion(versionId: number): Promise<VersionDetailDto> {
  const v = await prisma.version.findUnique({ where: { id: versionId }, include: { program: true, createdBy: { select: { email: true } } } });
  if (!v) throw new AppError("not-found", "No such version.");
  let summary: VersionDetailDto["summary"] = null;
  if (v.versionData) {
    const vd = JSON.parse(v.versionData) as { functions?: unknown[]; types?: unknown[]; globals?: unknown[]; updatePoints?: unknown[] };
    summary = { functions: vd.functions?.length ?? 0, types: vd.types?.length ?? 0, globals: vd.globals?.length ?? 0, updatePoints: vd.updatePoints?.length ?? 0 };
  }
  const files = JSON.parse(v.sources) as { path: string; content: string }[];
  return {
    id: v.id,
    label: v.label,
    status: v.status,
    cflags: JSON.parse(v.cflags),
    ldflags: JSON.parse(v.ldflags),
    cfiles: JSON.parse(v.cfiles),
    fileCount: files.length,
    jobId: v.jobId,
    createdBy: v.createdBy.email,
    createdAt: v.createdAt.toISOString(),
    digest: digestOf(v.versionData),
    program: { id: v.program.id, name: v.program.name },
    files,
    diagnostics: JSON.parse(v.diagnostics),
    summary,
  };
}
