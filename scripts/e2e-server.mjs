#!/usr/bin/env node
/**
 * The web server for the browser tests: a fresh database file of its own
 * (prisma/e2e.db, never the demo database), migrated, then the dashboard and
 * the worker through scripts/start.mjs.
 */
import { spawnSync, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dbFile = process.env.GRAFT_E2E_DB ?? path.join(root, "prisma", "e2e.db");
for (const suffix of ["", "-journal", "-wal", "-shm"]) fs.rmSync(dbFile + suffix, { force: true });
// A sealing secret of its own (lib/server/signing/sealed-key.ts), which the key test reads to unseal the key.
const secretFile = path.join(root, "prisma", "e2e.signing-secret");
fs.rmSync(secretFile, { force: true });
// A canary in the worker's environment, which no build may read (e2e/support/canaries.json).
const canaries = JSON.parse(fs.readFileSync(path.join(root, "e2e", "support", "canaries.json"), "utf8"));
const env = { ...process.env, DATABASE_URL: `file:${dbFile}`, GRAFT_SIGNING_SECRET_FILE: secretFile, GRAFT_E2E_CANARY: canaries.env, CHECKPOINT_DISABLE: "1", NEXT_TELEMETRY_DISABLED: "1" };
const r = spawnSync(process.execPath, [path.join(root, "node_modules/prisma/build/index.js"), "migrate", "deploy"], {
  cwd: root,
  env,
  stdio: ["ignore", "ignore", "inherit"],
});
if (r.status !== 0) process.exit(1);
// The test accounts (this database only).
const accounts = JSON.parse(fs.readFileSync(path.join(root, "e2e", "support", "accounts.json"), "utf8"));
for (const [key, a] of Object.entries(accounts)) {
  if (key.startsWith("_")) continue;
  const c = spawnSync(process.execPath, ["--conditions=react-server", "--import", "tsx", path.join(root, "scripts/create-user.ts"), "--email", a.email, "--role", a.role], {
    cwd: root,
    env: { ...env, GRAFT_PASSWORD: a.password },
    stdio: ["ignore", "ignore", "inherit"],
  });
  if (c.status !== 0) process.exit(1);
}
// The dashboard's and the worker's output, also kept in a file that the tests search for leaked secrets.
const logFile = path.join(root, "prisma", "e2e.server.log");
const log = fs.createWriteStream(logFile, { flags: "w" });
const child = spawn(process.execPath, [path.join(root, "scripts/start.mjs")], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
child.stdout.on("data", (d) => { process.stdout.write(d); log.write(d); });
child.stderr.on("data", (d) => { process.stderr.write(d); log.write(d); });
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
child.on("exit", (code) => process.exit(code ?? 0));
