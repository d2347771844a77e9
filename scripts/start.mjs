#!/usr/bin/env node
/**
 * Runs the dashboard (next start) and the build worker as one process tree.
 * Ctrl-C or SIGTERM stops both; if one of them dies, the other is stopped too.
 *
 * Environment: PORT (default 3000), HOST (default 127.0.0.1), DATABASE_URL,
 * GRAFT_WORKERS (number of worker processes, default 1).
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const port = process.env.PORT ?? "3000";
const host = process.env.HOST ?? "127.0.0.1";
const workers = Math.max(1, Number(process.env.GRAFT_WORKERS ?? 1));
const env = { ...process.env, NEXT_TELEMETRY_DISABLED: "1", CHECKPOINT_DISABLE: "1", NODE_ENV: "production" };

/** @type {{ name: string, child: import("node:child_process").ChildProcess }[]} */
const children = [];
let stopping = false;
let exitCode = 0;

function startChild(name, args) {
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: ["ignore", "inherit", "inherit"] });
  children.push({ name, child });
  child.on("exit", (code, signal) => {
    const live = children.filter((c) => c.child.exitCode === null && c.child.signalCode === null);
    if (!stopping) {
      console.error(`graft: ${name} exited (${signal ?? code}); stopping`);
      exitCode = code || 1;
      stop();
    }
    if (live.length === 0) process.exit(exitCode);
  });
  return child;
}

function stop() {
  if (stopping) return;
  stopping = true;
  for (const { child } of children) if (child.exitCode === null) child.kill("SIGTERM");
  // A build in progress gets 10 s to finish; then everything is killed.
  setTimeout(() => {
    for (const { child } of children) if (child.exitCode === null) child.kill("SIGKILL");
    process.exit(exitCode);
  }, 10_000).unref();
}

process.on("SIGINT", stop);
process.on("SIGTERM", stop);

startChild("dashboard", [path.join(root, "node_modules/next/dist/bin/next"), "start", "-H", host, "-p", port]);
for (let i = 0; i < workers; i++)
  startChild(`worker${workers > 1 ? ` ${i + 1}` : ""}`, ["--conditions=react-server", "--import", "tsx", path.join(root, "lib/server/worker/main.ts")]);
console.log(`graft: dashboard on http://${host}:${port} (Ctrl-C stops it and the worker)`);
