#!/usr/bin/env node
/**
 * prisma/postgresql/schema.prisma is prisma/schema.prisma with the
 * PostgreSQL datasource and its own client output (generated/prisma-pg).
 * `node scripts/pg-schema.mjs` rewrites it; `--check` fails when it is stale.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const src = fs.readFileSync(path.join(root, "prisma", "schema.prisma"), "utf8");
const out = path.join(root, "prisma", "postgresql", "schema.prisma");

export function toPostgres(schema) {
  const s = schema
    .replace('output     = "../generated/prisma"', 'output     = "../../generated/prisma-pg"')
    .replace(/provider = "sqlite"/, 'provider = "postgresql"')
    .replace(/url {6}= "file:\.\/dev\.db"/, 'url      = "postgresql://localhost/graft"');
  return "// Generated from ../schema.prisma by scripts/pg-schema.mjs: edit that file, not this one.\n" + s;
}

const want = toPostgres(src);
const have = fs.existsSync(out) ? fs.readFileSync(out, "utf8") : "";
if (process.argv.includes("--check")) {
  if (want !== have) {
    console.error("prisma/postgresql/schema.prisma is stale: run node scripts/pg-schema.mjs (and add a PostgreSQL migration)");
    process.exit(1);
  }
} else if (want !== have) {
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, want);
  console.log("wrote prisma/postgresql/schema.prisma");
}
