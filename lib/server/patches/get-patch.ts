import "server-only";
import { contributedRevision } from "./review-patch";
import { prisma } from "../db";
import { AppError } from "../errors";
import { can, type SessionUser } from "../auth/roles";
import type { VersionData } from "../../model/version-data";
import type { PatchManifest } from "../../model/patch-manifest";
import { revisionDigest } from "./revision-digest";
import { buildReviewModel, reviewModelFromManifest, type ReviewModel } from "./review-model";

export interface ReviewDto {
  id: number;
  userId: number;
  name: string;
  decision: "approve" | "reject";
  /** the revision digest the reviewer approved or rejected */
  digest: string;
  comment: string;
  at: string;
}

export interface RevisionDto {
  id: number;
  number: number;
  state: "open" | "approved" | "rejected";
  createdBy: string;
  /** Everyone who edited it in place after its creator (from the audit log), in order. */
  editedBy: string[];
  createdAt: string;
  updatedAt: string;
}

export interface BundleDto {
  id: number;
  revision: number;
  status: string;
  fileName: string;
  sequence: number;
  sha256: string | null;
  keyId: string | null;
  error: string | null;
  jobId: number | null;
  createdAt: string;
}

export interface PatchReviewDto {
  id: number;
  title: string;
  status: string;
  error: string | null;
  jobId: number | null;
  program: { id: number; name: string };
  base: { id: number; label: string };
  target: { id: number; label: string };
  author: { id: number; name: string; email: string };
  createdAt: string;
  revision: (RevisionDto & { digest: string; xformSource: string; generatedXform: string; patchSource: string; manifest: unknown; checkResult: unknown; checkJobId: number | null; reviews: ReviewDto[] }) | null;
  revisions: RevisionDto[];
  model: ReviewModel | null;
  comments: { id: number; author: string; body: string; revision: number; at: string }[];
  bundles: BundleDto[];
  /** what the viewer may do here */
  permissions: { edit: boolean; review: boolean; reviewBlockedReason: string | null; build: boolean; download: boolean };
}

export interface PatchListItemDto {
  id: number;
  title: string;
  program: string;
  base: string;
  target: string;
  status: string;
  state: string | null;
  revision: number | null;
  author: string;
  createdAt: string;
}

export async function listPatches(opts: { programId?: number } = {}): Promise<PatchListItemDto[]> {
  const rows = await prisma.patch.findMany({
    where: { programId: opts.programId },
    orderBy: { id: "desc" },
    include: {
      program: { select: { name: true } },
      baseVersion: { select: { label: true } },
      targetVersion: { select: { label: true } },
      createdBy: { select: { email: true } },
      revisions: { orderBy: { number: "desc" }, take: 1, select: { number: true, state: true } },
    },
  });
  return rows.map((p) => ({
    id: p.id,
    title: p.title,
    program: p.program.name,
    base: p.baseVersion.label,
    target: p.targetVersion.label,
    status: p.status,
    state: p.revisions[0]?.state ?? null,
    revision: p.revisions[0]?.number ?? null,
    author: p.createdBy.email,
    createdAt: p.createdAt.toISOString(),
  }));
}

function parseJson(s: string | null | undefined): unknown {
  if (!s) return null;
  try {
    return JSON.parse(s);
  } catch {
    return null;
  }
}

/** Everything the review page shows, for one viewer. Never includes key material. */
export async function getPatchReview(opts: { user: SessionUser; patchId: number }): Promise<PatchReviewDto> {
  const p = await prisma.patch.findUnique({
    where: { id: opts.patchId },
    include: {
      program: true,
      baseVersion: { select: { id: true, label: true, versionData: true } },
      targetVersion: { select: { id: true, label: true, versionData: true } },
      createdBy: true,
      revisions: { orderBy: { number: "asc" }, include: { createdBy: { select: { email: true } } } },
      comments: { orderBy: { id: "asc" }, include: { author: { select: { email: true } } } },
    },
  });
  if (!p) throw new AppError("not-found", "No such patch.");
  const current = p.revisions.at(-1) ?? null;
  const reviews = current
    ? await prisma.review.findMany({ where: { revisionId: current.id, active: true }, orderBy: { id: "asc" }, include: { reviewer: true } })
    : [];
  const bundles = await prisma.bundle.findMany({
    where: { revision: { patchId: p.id } },
    orderBy: { id: "desc" },
    select: { id: true, status: true, fileName: true, sequence: true, sha256: true, keyId: true, error: true, jobId: true, createdAt: true, revision: { select: { number: true } } },
  });
  let model: ReviewModel | null = null;
  const baseVd = parseJson(p.baseVersion.versionData) as VersionData | null;
  const targetVd = (parseJson(current?.versionData) ?? parseJson(p.targetVersion.versionData)) as VersionData | null;
  const manifest = parseJson(current?.manifest) as PatchManifest | null;
  if (manifest?.format === "graft-patch/1" && Array.isArray(manifest.functions)) {
    try {
      model = reviewModelFromManifest(manifest);
    } catch (e) {
      console.error(`review model for patch ${p.id}:`, e);
    }
  }
  if (!model && baseVd && targetVd) {
    try {
      model = buildReviewModel(baseVd, targetVd);
    } catch (e) {
      console.error(`review model for patch ${p.id}:`, e);
    }
  }
  // Whoever wrote the patch or any revision of it (review-patch.ts refuses them too).
  const ownRevision = await contributedRevision(prisma, p.id, opts.user.id);
  const reviewBlockedReason = !can(opts.user, "patch:review")
    ? "Only reviewers can approve or reject."
    : p.createdById === opts.user.id
      ? "You cannot approve a patch you wrote."
      : ownRevision !== undefined
        ? `You wrote revision ${ownRevision} of this patch: someone who did not write any of it must review it.`
      : !current
        ? "The patch has not been generated yet."
        : null;
  // In-place edits keep the revision's creator: the audit log names the others.
  const edits = await prisma.auditEvent.findMany({
    where: { targetType: "patch", targetId: String(p.id), action: "patch.edit" },
    orderBy: { id: "asc" },
    include: { actor: { select: { email: true } } },
  });
  const editorsOf = (n: number, creator: string) => [...new Set(edits
    .filter((e) => (JSON.parse(e.detail) as { revision?: number }).revision === n)
    .map((e) => e.actor?.email ?? "(deleted user)"))].filter((x) => x !== creator);
  const revDto = (r: (typeof p.revisions)[number]): RevisionDto => ({
    id: r.id,
    number: r.number,
    state: r.state as RevisionDto["state"],
    createdBy: r.createdBy.email,
    editedBy: editorsOf(r.number, r.createdBy.email),
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  });
  return {
    id: p.id,
    title: p.title,
    status: p.status,
    error: p.error,
    jobId: p.jobId,
    program: { id: p.program.id, name: p.program.name },
    base: { id: p.baseVersion.id, label: p.baseVersion.label },
    target: { id: p.targetVersion.id, label: p.targetVersion.label },
    author: { id: p.createdBy.id, name: p.createdBy.name, email: p.createdBy.email },
    createdAt: p.createdAt.toISOString(),
    revision: current
      ? {
          ...revDto(current),
          digest: revisionDigest(current),
          xformSource: current.xformSource,
          generatedXform: current.generatedXform,
          patchSource: current.patchSource,
          manifest: parseJson(current.manifest),
          checkResult: parseJson(current.checkResult),
          checkJobId: current.checkJobId,
          reviews: reviews.map((r) => ({ id: r.id, userId: r.reviewerId, name: r.reviewer.email, decision: r.decision as ReviewDto["decision"], digest: r.digest, comment: r.comment, at: r.createdAt.toISOString() })),
        }
      : null,
    revisions: p.revisions.map(revDto),
    model,
    comments: p.comments.map((c) => ({ id: c.id, author: c.author.email, body: c.body, revision: c.revision, at: c.createdAt.toISOString() })),
    bundles: bundles.map((b) => ({
      id: b.id, revision: b.revision.number, status: b.status, fileName: b.fileName, sequence: b.sequence, sha256: b.sha256, keyId: b.keyId,
      error: b.error, jobId: b.jobId, createdAt: b.createdAt.toISOString(),
    })),
    permissions: {
      edit: can(opts.user, "patch:edit") && !!current,
      review: reviewBlockedReason === null,
      reviewBlockedReason,
      build: can(opts.user, "bundle:build") && current?.state === "approved",
      download: can(opts.user, "bundle:download"),
    },
  };
}
