import "server-only";
import { prisma } from "./db";

/** A worker counts as up when its heartbeat is younger than this. */
export const WORKER_HEARTBEAT_MAX_AGE_MS = 15_000;

export interface Health {
  ok: boolean;
  database: "up" | "down";
  worker: "up" | "down";
}

/** Reads the database and the freshest worker heartbeat. Never throws. */
export async function getHealth(now: Date = new Date()): Promise<Health> {
  let database: Health["database"] = "down";
  let worker: Health["worker"] = "down";
  try {
    const latest = await prisma.workerHeartbeat.findFirst({ orderBy: { beatAt: "desc" } });
    database = "up";
    if (latest && now.getTime() - latest.beatAt.getTime() <= WORKER_HEARTBEAT_MAX_AGE_MS) worker = "up";
  } catch {
    database = "down";
  }
  return { ok: database === "up" && worker === "up", database, worker };
}
