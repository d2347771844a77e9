import "server-only";
import type { JobKind } from "../jobs/queue";

/** Time and memory allowed to each kind of job (the whole process tree: node, gcc, clang). */
export interface JobLimits {
  /** wall clock, enforced by the parent worker (SIGKILL to the process group) */
  wallSeconds: number;
  /** CPU seconds per process (RLIMIT_CPU) */
  cpuSeconds: number;
  /** data segment per process (RLIMIT_DATA; RLIMIT_AS would break V8's wasm reservations) */
  dataBytes: number;
  /** largest file a process may write (RLIMIT_FSIZE) */
  fileBytes: number;
}

const MiB = 1024 * 1024;

export const JOB_LIMITS: Record<JobKind, JobLimits> = {
  "build-version": { wallSeconds: 300, cpuSeconds: 240, dataBytes: 2048 * MiB, fileBytes: 256 * MiB },
  "generate-patch": { wallSeconds: 300, cpuSeconds: 240, dataBytes: 2048 * MiB, fileBytes: 256 * MiB },
  "check-xform": { wallSeconds: 120, cpuSeconds: 90, dataBytes: 2048 * MiB, fileBytes: 128 * MiB },
  "build-bundle": { wallSeconds: 300, cpuSeconds: 240, dataBytes: 2048 * MiB, fileBytes: 256 * MiB },
};

/** prlimit(1) arguments that apply `limits` to the command after them. */
export function prlimitArgs(limits: JobLimits): string[] {
  return [`--cpu=${limits.cpuSeconds}`, `--data=${limits.dataBytes}`, `--fsize=${limits.fileBytes}`, "--core=0", "--"];
}
