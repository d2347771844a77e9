#!/usr/bin/env node
/**
 * Applies prisma/postgresql/migrations to DATABASE_URL (PostgreSQL), each in
 * its own transaction, recording them in _graft_migrations. Prisma 6.19's
 * wasm schema engine cannot read PostgreSQL's catalog through the pg adapter
 * ("Column type 'name' could not be deserialized"), so this replaces
 * `prisma migrate deploy` there. Idempotent.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dir = path.join(root, "prisma", "postgresql", "migrations");
const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
await client.connect();
try {
  await client.query(`CREATE TABLE IF NOT EXISTS "_graft_migrations" (name TEXT PRIMARY KEY, checksum TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
  const done = new Map((await client.query(`SELECT name, checksum FROM "_graft_migrations"`)).rows.map((r) => [r.name, r.checksum]));
  let applied = 0;
  for (const name of fs.readdirSync(dir).filter((n) => /^\d/.test(n)).sort()) {
    const sql = fs.readFileSync(path.join(dir, name, "migration.sql"), "utf8");
    const checksum = crypto.createHash("sha256").update(sql).digest("hex");
    if (done.has(name)) {
      if (done.get(name) !== checksum) throw new Error(`migration ${name} was changed after it was applied`);
      continue;
    }
    await client.query("BEGIN");
    try {
      await client.query(sql);
      await client.query(`INSERT INTO "_graft_migrations" (name, checksum) VALUES ($1, $2)`, [name, checksum]);
      await client.query("COMMIT");
    } catch (e) {
      await client.query("ROLLBACK");
      throw new Error(`migration ${name} failed: ${e.message}`);
    }
    applied++;
  }
  console.log(applied ? `applied ${applied} PostgreSQL migration(s)` : "PostgreSQL schema up to date");
} finally {
  await client.end();
}
