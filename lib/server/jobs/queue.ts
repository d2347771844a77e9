import "server-only";
import { prisma } from "../db";
import type { Prisma } from "../../../generated/prisma/client";

export type JobKind = "build-version" | "generate-patch" | "check-xform" | "build-bundle";
export type JobStatus = "queued" | "running" | "done" | "failed";

export interface JobDto {
  id: number;
  kind: JobKind;
  status: JobStatus;
  log: string;
  error: string | null;
  result: unknown;
  createdAt: string;
  finishedAt: string | null;
}

/** A running job whose heartbeat is older than this is given back to the queue. */
export const JOB_STALE_MS = 120_000;
/** A job is tried at most this many times. */
export const JOB_MAX_ATTEMPTS = 3;

/** Adds a job; pass `tx` to make it part of the caller's transaction. */
export async function enqueueJob(kind: JobKind, payload: unknown, opts: { tx?: Prisma.TransactionClient; programId?: number } = {}): Promise<number> {
  const db = opts.tx ?? prisma;
  const job = await db.job.create({ data: { kind, payload: JSON.stringify(payload), programId: opts.programId } });
  return job.id;
}

/**
 * Claims the oldest queued job for `workerId`. The claim is one conditional
 * UPDATE (status must still be "queued"), so two workers never get the same job.
 */
export async function claimNextJob(workerId: string) {
  for (let tries = 0; tries < 5; tries++) {
    const next = await prisma.job.findFirst({
      where: { status: "queued", runAfter: { lte: new Date() } },
      orderBy: { id: "asc" },
      select: { id: true },
    });
    if (!next) return null;
    const now = new Date();
    const claimed = await prisma.job.updateMany({
      where: { id: next.id, status: "queued" },
      data: { status: "running", workerId, claimedAt: now, heartbeatAt: now, attempts: { increment: 1 } },
    });
    if (claimed.count === 1) return prisma.job.findUniqueOrThrow({ where: { id: next.id } });
    // another worker won this one: look again
  }
  return null;
}

/** Gives jobs of dead workers back to the queue (or fails them after JOB_MAX_ATTEMPTS). */
export async function requeueStaleJobs(now: Date = new Date()): Promise<number> {
  const cutoff = new Date(now.getTime() - JOB_STALE_MS);
  const failed = await prisma.job.updateMany({
    where: { status: "running", heartbeatAt: { lt: cutoff }, attempts: { gte: JOB_MAX_ATTEMPTS } },
    data: { status: "failed", error: "the worker running this job stopped answering", finishedAt: now },
  });
  const requeued = await prisma.job.updateMany({
    where: { status: "running", heartbeatAt: { lt: cutoff } },
    data: { status: "queued", workerId: null },
  });
  return failed.count + requeued.count;
}

/** Thrown by a handler that must wait for another job (e.g. a version still building). */
export class RetryLater extends Error {
  constructor(readonly reason: string, readonly delayMs = 2_000) {
    super(reason);
    this.name = "RetryLater";
  }
}

/** Puts a claimed job back in the queue without counting the attempt. */
export async function postponeJob(jobId: number, delayMs: number): Promise<void> {
  await prisma.job.update({
    where: { id: jobId },
    data: { status: "queued", workerId: null, attempts: { decrement: 1 }, runAfter: new Date(Date.now() + delayMs) },
  });
}

export async function appendJobLog(jobId: number, line: string): Promise<void> {
  const job = await prisma.job.findUnique({ where: { id: jobId }, select: { log: true } });
  if (!job) return;
  const log = (job.log ? job.log + "\n" : "") + line;
  await prisma.job.update({ where: { id: jobId }, data: { log: log.slice(-64_000), heartbeatAt: new Date() } });
}

export async function finishJob(jobId: number, result: unknown): Promise<void> {
  await prisma.job.update({
    where: { id: jobId },
    data: { status: "done", result: JSON.stringify(result ?? null), finishedAt: new Date() },
  });
}

export async function failJob(jobId: number, error: string, result?: unknown): Promise<void> {
  await prisma.job.update({
    where: { id: jobId },
    data: { status: "failed", error, result: result === undefined ? null : JSON.stringify(result), finishedAt: new Date() },
  });
}

export async function getJob(jobId: number): Promise<JobDto | null> {
  const j = await prisma.job.findUnique({ where: { id: jobId } });
  if (!j) return null;
  return {
    id: j.id,
    kind: j.kind as JobKind,
    status: j.status as JobStatus,
    log: j.log,
    error: j.error,
    result: j.result ? JSON.parse(j.result) : null,
    createdAt: j.createdAt.toISOString(),
    finishedAt: j.finishedAt?.toISOString() ?? null,
  };
}
