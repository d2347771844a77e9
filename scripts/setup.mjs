#!/usr/bin/env node
/**
 * Sets up whatever is missing, and skips (with a one-line message) what is
 * already done:
 *   1. Debian packages (installed with apt-get when root, else the exact line to run)
 *   2. npm packages (npm ci, only when node_modules is missing or package-lock.json changed)
 *   3. the Prisma client (prisma generate, when the schema changed)
 *   4. the SQLite database prisma/dev.db (prisma migrate deploy) and the demo data (once)
 *   5. the C runtime libgraft (make -C native/runtime)
 *   6. the production build of the dashboard (next build, when sources changed; --for start|test)
 *
 * Usage: node scripts/setup.mjs --for start|test|bench
 */
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
process.chdir(root);

const argv = process.argv.slice(2);
const forIdx = argv.indexOf("--for");
const purpose = forIdx >= 0 ? argv[forIdx + 1] : "start";
if (!["start", "test", "bench"].includes(purpose)) {
  console.error(`setup: unknown --for ${purpose} (expected start, test or bench)`);
  process.exit(2);
}

const env = {
  ...process.env,
  NEXT_TELEMETRY_DISABLED: "1",
  CHECKPOINT_DISABLE: "1",
  PRISMA_HIDE_UPDATE_MESSAGE: "1",
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: "1",
};
Object.assign(process.env, env);

export const DEBIAN_PACKAGES = ["clang", "libsodium-dev", "chromium", "wrk", "libmemcached-tools", "valgrind", "curl", "csmith", "libcsmith-dev", "autoconf", "automake", "libevent-dev", "libpam0g-dev", "libcap-dev", "bubblewrap"];
const STAMP_DIR = path.join(root, "node_modules", ".graft-setup");

function say(step, msg) {
  console.log(`setup: ${step}: ${msg}`);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: "inherit", env, ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    console.error(`setup: failed: ${cmd} ${args.join(" ")} (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
}

function sha256(...parts) {
  const h = crypto.createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex");
}

function readStamp(name) {
  try {
    return fs.readFileSync(path.join(STAMP_DIR, name), "utf8").trim();
  } catch {
    return null;
  }
}

function writeStamp(name, value) {
  fs.mkdirSync(STAMP_DIR, { recursive: true });
  fs.writeFileSync(path.join(STAMP_DIR, name), value + "\n");
}

/** Content hash of files (recursively for directories), in a stable order. */
function hashTree(entries, skip = () => false) {
  const h = crypto.createHash("sha256");
  const walk = (p) => {
    let st;
    try {
      st = fs.statSync(p);
    } catch {
      return;
    }
    if (skip(p)) return;
    if (st.isDirectory()) {
      for (const name of fs.readdirSync(p).sort()) walk(path.join(p, name));
    } else if (st.isFile()) {
      h.update(path.relative(root, p) + "\0");
      h.update(fs.readFileSync(p));
      h.update("\0");
    }
  };
  for (const e of entries) walk(path.join(root, e));
  return h.digest("hex");
}

// 1. Debian packages ---------------------------------------------------------
function isInstalled(pkg) {
  const r = spawnSync("dpkg-query", ["-W", "-f=${Status}", pkg], { encoding: "utf8" });
  return r.status === 0 && r.stdout.includes("install ok installed");
}

function setupDebianPackages() {
  const missing = DEBIAN_PACKAGES.filter((p) => !isInstalled(p));
  if (missing.length === 0) return say("debian", "packages present, skipped");
  const line = `apt-get install -y ${missing.join(" ")}`;
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    console.error(`setup: debian: missing packages: ${missing.join(" ")}`);
    console.error(`setup: run this as root, then run the command again:\n\n    sudo apt-get update && sudo ${line}\n`);
    process.exit(1);
  }
  say("debian", `installing ${missing.join(" ")}`);
  const aptEnv = { ...env, DEBIAN_FRONTEND: "noninteractive" };
  run("apt-get", ["update"], { env: aptEnv });
  run("apt-get", ["install", "-y", "--no-install-recommends", ...missing], { env: aptEnv });
}

// 2. npm packages --------------------------------------------------------------
function setupNpm() {
  const lock = fs.existsSync("package-lock.json") ? fs.readFileSync("package-lock.json") : Buffer.from("");
  const want = sha256(lock);
  const have = fs.existsSync("node_modules") ? readStamp("npm") : null;
  if (have === want) return say("npm", "packages up to date, skipped");
  if (have === null && fs.existsSync("node_modules/next/package.json") && fs.existsSync("node_modules/.package-lock.json")) {
    // Installed by hand before the first setup: check that npm agrees, without reinstalling.
    const r = spawnSync("npm", ["ls", "--depth=0", "--silent"], { stdio: "ignore", env });
    if (r.status === 0) {
      writeStamp("npm", want);
      return say("npm", "packages already installed, skipped");
    }
  }
  say("npm", fs.existsSync("package-lock.json") ? "npm ci" : "npm install");
  run("npm", [fs.existsSync("package-lock.json") ? "ci" : "install", "--no-audit", "--no-fund"]);
  writeStamp("npm", want);
}

/** `npx graft` inside the repository runs bin/graft.mjs. */
function linkGraftBin() {
  const target = path.join(root, "bin", "graft.mjs");
  const link = path.join(root, "node_modules", ".bin", "graft");
  if (!fs.existsSync(target)) return say("graft", "bin/graft.mjs not there yet, skipped");
  try {
    if (fs.readlinkSync(link) === "../../bin/graft.mjs") return say("graft", "npx graft linked, skipped");
  } catch {
    /* not a link yet */
  }
  fs.mkdirSync(path.dirname(link), { recursive: true });
  fs.rmSync(link, { force: true });
  fs.symlinkSync("../../bin/graft.mjs", link);
  try {
    fs.chmodSync(target, 0o755);
  } catch {
    /* read-only checkout: node runs it anyway through the shebang-less npx path */
  }
  say("graft", "linked node_modules/.bin/graft -> bin/graft.mjs");
}

// 3. Prisma client ---------------------------------------------------------------
function setupPrismaClient() {
  // Two clients from the same models: SQLite (generated/prisma) and PostgreSQL (generated/prisma-pg).
  run(process.execPath, ["scripts/pg-schema.mjs"]);
  const want = sha256(fs.readFileSync("prisma/schema.prisma"), fs.readFileSync("prisma/postgresql/schema.prisma"), fs.readFileSync("node_modules/prisma/package.json"));
  if (readStamp("prisma-generate") === want && fs.existsSync("generated/prisma/client.ts") && fs.existsSync("generated/prisma-pg/client.ts"))
    return say("prisma", "clients up to date, skipped");
  say("prisma", "generating the clients");
  const cli = "node_modules/prisma/build/index.js";
  const quiet = { env: { ...env, DATABASE_URL: "" }, stdio: ["ignore", "ignore", "inherit"] };
  delete quiet.env.DATABASE_URL;
  run(process.execPath, [cli, "generate", "--schema", "prisma/schema.prisma"], quiet);
  run(process.execPath, [cli, "generate", "--schema", "prisma/postgresql/schema.prisma"], quiet);
  writeStamp("prisma-generate", want);
}

// 4. Database and demo data ---------------------------------------------------------
function setupDatabase() {
  const dbFile = path.join(root, "prisma", "dev.db");
  const want = sha256(hashTree(["prisma/migrations"]), dbFile);
  const stampName = "db-migrations";
  if (process.env.DATABASE_URL) say("database", `DATABASE_URL is set: using it`);
  if (/^postgres(ql)?:\/\//.test(process.env.DATABASE_URL ?? "")) {
    run(process.execPath, ["scripts/migrate-pg.mjs"]);
  } else if (!process.env.DATABASE_URL && fs.existsSync(dbFile) && readStamp(stampName) === want) {
    say("database", "prisma/dev.db migrated, skipped");
  } else {
    say("database", "prisma migrate deploy");
    run(process.execPath, ["node_modules/prisma/build/index.js", "migrate", "deploy"]);
    if (!process.env.DATABASE_URL) writeStamp(stampName, want);
  }
  // The seed script checks the database itself and says when it skips.
  run(process.execPath, ["--conditions=react-server", "--import", "tsx", "prisma/seed/demo.ts"]);
}

// 5. C runtime ------------------------------------------------------------------------
function setupNative() {
  if (!fs.existsSync("native/runtime/Makefile")) return say("native", "native/runtime/Makefile not there yet, skipped");
  const r = spawnSync("make", ["-q", "-C", "native/runtime"], { stdio: "ignore", env });
  if (r.status === 0) return say("native", "libgraft up to date, skipped");
  say("native", "make -C native/runtime");
  run("make", ["-s", "-C", "native/runtime"]);
}

// 6. Production build -------------------------------------------------------------------
const BUILD_INPUTS = ["app", "components", "lib", "prisma/schema.prisma", "next.config.ts", "tsconfig.json", "package-lock.json", "proxy.ts"];

function setupBuild() {
  if (purpose === "bench") return say("build", "not needed for bench, skipped");
  const want = hashTree(BUILD_INPUTS, (p) => /\.test\.tsx?$/.test(p));
  if (readStamp("next-build") === want && fs.existsSync(".next/BUILD_ID")) return say("build", "dashboard build up to date, skipped");
  say("build", "next build");
  run(process.execPath, ["node_modules/next/dist/bin/next", "build"]);
  // next build may touch tsconfig.json: stamp what is there after the build.
  writeStamp("next-build", hashTree(BUILD_INPUTS, (p) => /\.test\.tsx?$/.test(p)));
}

setupDebianPackages();
setupNpm();
linkGraftBin();
setupPrismaClient();
setupDatabase();
setupNative();
setupBuild();
say("done", `ready for ${purpose}`);
