import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// A database of this test's own, migrated with the real migration scripts.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "graft-queue-test-"));
const file = path.join(dir, "q.db");
process.env.DATABASE_URL = `file:${file}`;

type Queue = typeof import("./queue");
let q: Queue;
let prisma: (typeof import("../db"))["prisma"];

beforeAll(async () => {
  const db = new Database(file);
  const migrations = path.join(__dirname, "..", "..", "..", "prisma", "migrations");
  for (const m of fs.readdirSync(migrations).filter((n) => /^\d/.test(n)).sort()) db.exec(fs.readFileSync(path.join(migrations, m, "migration.sql"), "utf8"));
  db.close();
  q = await import("./queue");
  prisma = (await import("../db")).prisma;
});

afterAll(async () => {
  await prisma?.$disconnect();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("job queue", () => {
  it("gives each job to exactly one of several workers", async () => {
    const ids = [];
    for (let i = 0; i < 20; i++) ids.push(await q.enqueueJob("check-xform", { i }));
    const claimed: number[] = [];
    await Promise.all(
      ["w1", "w2", "w3", "w4"].map(async (w) => {
        for (;;) {
          const job = await q.claimNextJob(w);
          if (!job) return;
          expect(job.workerId).toBe(w);
          claimed.push(job.id);
        }
      }),
    );
    expect(claimed.sort((a, b) => a - b)).toEqual(ids);
  });

  it("postpones a job without counting the attempt, and requeues jobs of dead workers", async () => {
    const id = await q.enqueueJob("build-version", { versionId: 1, label: "v0" });
    const job = await q.claimNextJob("w1");
    expect(job?.id).toBe(id);
    await q.postponeJob(id, 60_000);
    expect(await q.claimNextJob("w1")).toBeNull();
    await prisma.job.update({ where: { id }, data: { runAfter: new Date(0) } });
    const again = await q.claimNextJob("w2");
    expect(again?.attempts).toBe(1);
    expect(await q.requeueStaleJobs(new Date(Date.now() + q.JOB_STALE_MS + 1000))).toBeGreaterThanOrEqual(1);
    expect((await q.getJob(id))?.status).toBe("queued");
  });
});
