/**
 * Runs one claimed job inside the resource limits the parent worker set
 * (see limits.ts), then records its outcome. Usage (by main.ts only):
 *   node --conditions=react-server --import tsx lib/server/worker/run-job.ts JOB_ID WORK_DIR
 */
import "server-only";
import { prisma } from "../db";
import { appendJobLog, failJob, finishJob, postponeJob, RetryLater, type JobKind } from "../jobs/queue";
import { handlers } from "./handlers";

async function main() {
  const jobId = Number(process.argv[2]);
  const workDir = process.argv[3];
  const job = await prisma.job.findUnique({ where: { id: jobId } });
  if (!job || job.status !== "running") throw new Error(`job ${jobId} is not running`);
  const handler = handlers[job.kind as JobKind];
  // Progress lines arrive from callbacks nobody awaits: append them one after another.
  let logChain: Promise<void> = Promise.resolve();
  const progress = (line: string) => (logChain = logChain.then(() => appendJobLog(jobId, line)).catch(() => {}));
  try {
    if (!handler) throw new Error(`no handler for job kind "${job.kind}"`);
    const result = await handler(JSON.parse(job.payload), { jobId, workDir, progress });
    await logChain;
    await finishJob(jobId, result);
  } catch (e) {
    await logChain;
    if (e instanceof RetryLater) {
      await postponeJob(jobId, e.delayMs);
      process.stderr.write(`[worker] job ${jobId} postponed: ${e.reason}\n`);
      return;
    }
    const message = e instanceof Error ? e.message : String(e);
    const diagnostics = (e as { diagnostics?: unknown }).diagnostics;
    await failJob(jobId, message, diagnostics ? { diagnostics } : undefined);
    process.stderr.write(`[worker] job ${jobId} failed: ${message}\n`);
  }
}

main()
  .catch((e) => {
    process.stderr.write(`[worker] ${e instanceof Error ? e.stack : e}\n`);
    process.exitCode = 1;
  })
  .finally(() => prisma.$disconnect());
