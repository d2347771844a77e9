import "server-only";
import type { JobKind } from "../jobs/queue";
import { buildVersionJob } from "./jobs/build-version";
import { generatePatchJob } from "./jobs/generate-patch";
import { checkXformJob } from "./jobs/check-xform";
import { buildBundleJob } from "./jobs/build-bundle";

export interface JobContext {
  jobId: number;
  /** A fresh temporary directory, removed after the job. */
  workDir: string;
  progress(line: string): Promise<void>;
}

export type JobHandler = (payload: unknown, ctx: JobContext) => Promise<unknown>;

/** One handler per job kind; each runs inside run-job.ts's resource limits. */
export const handlers: Record<JobKind, JobHandler> = {
  "build-version": buildVersionJob,
  "generate-patch": generatePatchJob,
  "check-xform": checkXformJob,
  "build-bundle": buildBundleJob,
};
