#!/usr/bin/env node
/**
 * Every test, in order, stopping at the first failure:
 * type check, lint, unit tests, integration tests, the C runtime's tests, the
 * browser tests. Prints a summary with the time each step took.
 * `node scripts/test-all.mjs --from e2e` starts at a step (by name).
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
process.chdir(root);
const env = { ...process.env, NEXT_TELEMETRY_DISABLED: "1", CHECKPOINT_DISABLE: "1", PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: "1" };
const bin = (name) => path.join(root, "node_modules", ".bin", name);

const steps = [
  { name: "schema", cmd: process.execPath, args: ["scripts/pg-schema.mjs", "--check"] },
  { name: "typecheck", cmd: bin("tsc"), args: ["--noEmit", "-p", "tsconfig.json"] },
  { name: "lint", cmd: bin("eslint"), args: [".", "--max-warnings=0"] },
  { name: "unit", cmd: bin("vitest"), args: ["run", "--project", "unit", "--passWithNoTests"] },
  { name: "integration", cmd: bin("vitest"), args: ["run", "--project", "integration", "--passWithNoTests"] },
  {
    name: "native",
    cmd: "make",
    args: ["-C", "native/runtime", "test"],
    skip: () => (fs.existsSync("native/runtime/Makefile") ? null : "native/runtime/Makefile not there yet"),
  },
  { name: "e2e", cmd: bin("playwright"), args: ["test"] },
];

const fromIdx = process.argv.indexOf("--from");
const from = fromIdx >= 0 ? steps.findIndex((s) => s.name === process.argv[fromIdx + 1]) : 0;
const results = [];
let failed = null;
for (const step of steps.slice(Math.max(0, from))) {
  const why = step.skip?.();
  if (why) {
    results.push({ name: step.name, status: "skipped", detail: why, ms: 0 });
    continue;
  }
  console.log(`\n=== ${step.name}: ${path.basename(step.cmd)} ${step.args.join(" ")}`);
  const t0 = Date.now();
  const r = spawnSync(step.cmd, step.args, { stdio: "inherit", env });
  const ms = Date.now() - t0;
  const ok = r.status === 0;
  results.push({ name: step.name, status: ok ? "passed" : "FAILED", detail: ok ? "" : `exit ${r.status ?? r.signal}`, ms });
  if (!ok) {
    failed = step.name;
    break;
  }
}

console.log("\n=== summary");
for (const r of results)
  console.log(`  ${r.status.padEnd(8)} ${r.name.padEnd(12)} ${(r.ms / 1000).toFixed(1).padStart(6)} s  ${r.detail}`);
for (const s of steps.slice(Math.max(0, from) + results.length)) console.log(`  ${"not run".padEnd(8)} ${s.name}`);
if (failed) {
  console.log(`\nnpm test: FAILED at ${failed}`);
  process.exit(1);
}
console.log("\nnpm test: all steps passed");
