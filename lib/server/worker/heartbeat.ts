import "server-only";
import os from "node:os";
import { prisma } from "../db";

export async function beat(workerId: string): Promise<void> {
  const now = new Date();
  await prisma.workerHeartbeat.upsert({
    where: { id: workerId },
    create: { id: workerId, hostname: os.hostname(), pid: process.pid, beatAt: now },
    update: { beatAt: now },
  });
}

export async function removeHeartbeat(workerId: string): Promise<void> {
  await prisma.workerHeartbeat.deleteMany({ where: { id: workerId } });
}
