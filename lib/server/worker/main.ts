/**
 * The build worker: a separate process (started by `npm start`) that claims
 * jobs from the database and runs each in its own temporary directory.
 * Run with `tsx --conditions=react-server lib/server/worker/main.ts`.
 */
import "server-only";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import crypto from "node:crypto";
import { prisma } from "../db";
import { claimNextJob, requeueStaleJobs, appendJobLog, finishJob, failJob, postponeJob, RetryLater, type JobKind } from "../jobs/queue";
import { beat, removeHeartbeat } from "./heartbeat";
import { handlers } from "./handlers";

const HEARTBEAT_MS = 5_000;
const POLL_MS = 500;

const workerId = `${os.hostname()}:${process.pid}:${crypto.randomBytes(3).toString("hex")}`;
let stopping = false;

function log(msg: string) {
  process.stderr.write(`[worker] ${msg}\n`);
}

async function runOne(): Promise<boolean> {
  const job = await claimNextJob(workerId);
  if (!job) return false;
  const handler = handlers[job.kind as JobKind];
  const workDir = await fs.mkdtemp(path.join(os.tmpdir(), `graft-job-${job.id}-`));
  log(`job ${job.id} (${job.kind}) started`);
  try {
    if (!handler) throw new Error(`no handler for job kind "${job.kind}"`);
    const result = await handler(JSON.parse(job.payload), {
      jobId: job.id,
      workDir,
      progress: (line) => appendJobLog(job.id, line),
    });
    await finishJob(job.id, result);
    log(`job ${job.id} done`);
  } catch (e) {
    if (e instanceof RetryLater) {
      await postponeJob(job.id, e.delayMs);
      log(`job ${job.id} postponed: ${e.reason}`);
      return false;
    }
    const message = e instanceof Error ? e.message : String(e);
    const diagnostics = (e as { diagnostics?: unknown }).diagnostics;
    await failJob(job.id, message, diagnostics ? { diagnostics } : undefined).catch(() => {});
    log(`job ${job.id} failed: ${message}`);
  } finally {
    await fs.rm(workDir, { recursive: true, force: true });
  }
  return true;
}

async function main() {
  log(`started as ${workerId}`);
  await beat(workerId);
  const timer = setInterval(() => {
    beat(workerId).catch((e) => log(`heartbeat failed: ${e}`));
    requeueStaleJobs().catch(() => {});
  }, HEARTBEAT_MS);

  const stop = () => {
    stopping = true;
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);

  while (!stopping) {
    let worked = false;
    try {
      worked = await runOne();
    } catch (e) {
      log(`poll failed: ${e}`);
    }
    if (!worked && !stopping) await new Promise((r) => setTimeout(r, POLL_MS));
  }
  clearInterval(timer);
  await removeHeartbeat(workerId).catch(() => {});
  await prisma.$disconnect();
  log("stopped");
}

main().catch((e) => {
  log(`fatal: ${e instanceof Error ? e.stack : e}`);
  process.exit(1);
});
