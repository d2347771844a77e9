import "server-only";
import path from "node:path";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaClient } from "../../generated/prisma/client";

/** The database file used when DATABASE_URL is not set. */
export function getDatabaseUrl(): string {
  return process.env.DATABASE_URL ?? `file:${path.join(process.cwd(), "prisma", "dev.db")}`;
}

function createPrismaClient(): PrismaClient {
  const url = getDatabaseUrl();
  return new PrismaClient({ adapter: new PrismaBetterSQLite3({ url }) });
}

const globalForPrisma = globalThis as unknown as { graftPrisma?: PrismaClient };

/** One client per process (Next reuses module instances; dev reloads do not). */
export const prisma: PrismaClient = globalForPrisma.graftPrisma ?? createPrismaClient();
globalForPrisma.graftPrisma = prisma;

export type { PrismaClient };
