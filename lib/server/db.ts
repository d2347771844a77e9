import "server-only";
import path from "node:path";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "../../generated/prisma/client";
import { PrismaClient as PrismaPgClient } from "../../generated/prisma-pg/client";

/** The database: DATABASE_URL, or the SQLite file prisma/dev.db. */
export function getDatabaseUrl(): string {
  return process.env.DATABASE_URL ?? `file:${path.join(process.cwd(), "prisma", "dev.db")}`;
}

export function isPostgres(url: string = getDatabaseUrl()): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

/**
 * SQLite (embedded, the default) or PostgreSQL (several app servers and
 * workers on several machines). Both clients are generated from the same
 * models (prisma/postgresql/schema.prisma is derived from prisma/schema.prisma),
 * so the SQLite client's types describe both.
 */
function createPrismaClient(): PrismaClient {
  const url = getDatabaseUrl();
  if (isPostgres(url)) return new PrismaPgClient({ adapter: new PrismaPg({ connectionString: url }) }) as unknown as PrismaClient;
  const client = new PrismaClient({ adapter: new PrismaBetterSQLite3({ url }) });
  // Readers (pages, polling) and the worker's writes do not block each other in WAL mode; the mode is kept in the file.
  client.$queryRawUnsafe("PRAGMA journal_mode=WAL").catch(() => {});
  return client;
}

const globalForPrisma = globalThis as unknown as { graftPrisma?: PrismaClient };

/** One client per process (Next reuses module instances; dev reloads do not). */
export const prisma: PrismaClient = globalForPrisma.graftPrisma ?? createPrismaClient();
globalForPrisma.graftPrisma = prisma;

export type { PrismaClient };
