import "server-only";
import type { JobKind } from "../jobs/queue";

export interface JobContext {
  jobId: number;
  /** A fresh temporary directory, removed after the job. */
  workDir: string;
  progress(line: string): Promise<void>;
}

export type JobHandler = (payload: unknown, ctx: JobContext) => Promise<unknown>;

/** Handlers by job kind; filled in as the engine lands. */
export const handlers: Partial<Record<JobKind, JobHandler>> = {};
