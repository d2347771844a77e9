/**
 * The build worker: a separate process (started by `npm start`) that claims
 * jobs from the database, one at a time, and runs each in a child process
 * with its own temporary directory and time/memory limits (limits.ts).
 * Several workers, on one machine or several, can share one database.
 * Run with `node --conditions=react-server --import tsx lib/server/worker/main.ts`.
 */
import "server-only";
import { spawn } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import crypto from "node:crypto";
import { fileURLToPath } from "node:url";
import { prisma } from "../db";
import { claimNextJob, requeueStaleJobs, failJob, postponeJob, type JobKind } from "../jobs/queue";
import { beat, removeHeartbeat } from "./heartbeat";
import { JOB_LIMITS, prlimitArgs } from "./limits";

const HEARTBEAT_MS = 5_000;
const POLL_MS = 500;
const RUN_JOB = path.join(path.dirname(fileURLToPath(import.meta.url)), "run-job.ts");

const workerId = `${os.hostname()}:${process.pid}:${crypto.randomBytes(3).toString("hex")}`;
let stopping = false;
let current: { jobId: number; child: ReturnType<typeof spawn> } | null = null;

function log(msg: string) {
  process.stderr.write(`[worker] ${msg}\n`);
}

/**
 * Compilers run on uploaded sources inside bubblewrap (lib/compile/sandbox.ts):
 * they see the job's directory but not its keys, nor the checkout and its
 * database. GRAFT_SANDBOX=off turns this off, for a machine without user
 * namespaces where every author is trusted.
 */
function sandboxEnv(workDir: string): Record<string, string> {
  return { GRAFT_SANDBOX: process.env.GRAFT_SANDBOX ?? "bwrap", GRAFT_SANDBOX_WRITABLE: workDir, GRAFT_SANDBOX_HIDE: path.join(workDir, "keys") };
}

async function runOne(): Promise<boolean> {
  const job = await claimNextJob(workerId);
  if (!job) return false;
  const limits = JOB_LIMITS[job.kind as JobKind] ?? JOB_LIMITS["build-version"];
  const workDir = await fs.mkdtemp(path.join(os.tmpdir(), `graft-job-${job.id}-`));
  log(`job ${job.id} (${job.kind}) started in ${workDir}`);
  const t0 = Date.now();
  try {
    const child = spawn(
      "prlimit",
      [...prlimitArgs(limits), process.execPath, "--conditions=react-server", "--import", "tsx", RUN_JOB, String(job.id), workDir],
      { cwd: process.cwd(), env: { ...process.env, TMPDIR: workDir, ...sandboxEnv(workDir) }, stdio: ["ignore", "inherit", "inherit"], detached: true },
    );
    current = { jobId: job.id, child };
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        /* already gone */
      }
    }, limits.wallSeconds * 1000);
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on("exit", (code, signal) => resolve({ code, signal })),
    );
    clearTimeout(timer);
    current = null;
    const after = await prisma.job.findUnique({ where: { id: job.id }, select: { status: true } });
    if (after?.status === "running" && stopping) {
      // Interrupted by a shutdown: give the job back for the next worker.
      await postponeJob(job.id, 0);
      log(`job ${job.id} interrupted; back in the queue`);
    } else if (after?.status === "running") {
      const why = timedOut
        ? `the job ran out of time (${limits.wallSeconds} s)`
        : signal === "SIGXCPU" || signal === "SIGKILL"
          ? `the job was stopped (${signal}: over its CPU or memory limit)`
          : `the job's process ended unexpectedly (${signal ?? `exit ${code}`})`;
      await failJob(job.id, why);
      log(`job ${job.id} failed: ${why}`);
    } else {
      log(`job ${job.id} ${after?.status ?? "gone"} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
  } finally {
    await fs.rm(workDir, { recursive: true, force: true });
  }
  // A postponed job went back to the queue: report "no work" so the loop sleeps instead of spinning.
  const after = await prisma.job.findUnique({ where: { id: job.id }, select: { status: true } });
  return after?.status !== "queued";
}

async function main() {
  log(`started as ${workerId}; compilers run ${(process.env.GRAFT_SANDBOX ?? "bwrap") === "off" ? "UNSANDBOXED (GRAFT_SANDBOX=off)" : "in bubblewrap"}`);
  if (process.getuid?.() === 0 && (process.env.GRAFT_SANDBOX ?? "bwrap") !== "off") {
    log("running as root: the kernel does not limit root's processes (RLIMIT_NPROC), so a sandboxed tool's process count is bounded only by its job's time; run the worker as a user of its own");
  }
  await beat(workerId);
  const timer = setInterval(() => {
    beat(workerId).catch((e) => log(`heartbeat failed: ${e}`));
    if (current) prisma.job.updateMany({ where: { id: current.jobId, status: "running" }, data: { heartbeatAt: new Date() } }).catch(() => {});
    requeueStaleJobs().catch(() => {});
  }, HEARTBEAT_MS);

  const stop = () => {
    stopping = true;
    if (current) {
      try {
        process.kill(-current.child.pid!, "SIGKILL");
      } catch {
        /* gone */
      }
    }
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
