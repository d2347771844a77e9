/**
 * memcached with threads, stock and updateable side by side in one run
 * (issue 14): 1.2.2 configured `--enable-threads` and run with `-t 4`.
 *
 *   npx tsx bench/threads.ts [--quick] [--json FILE]
 *
 *   - throughput: memcslap --test=set --concurrency=32 against the stock and
 *     the updateable build in alternating rounds, keys per second, and the
 *     median of the per-pair ratios;
 *   - the update pause: a fresh updateable server under the same load,
 *     1.2.2 -> 1.2.3 applied through the control socket; pause_us (init and
 *     switch, every thread of the program parked), waited_us (how long the
 *     first thread to park waited for the last) and the threads parked, from
 *     the runtime's reply. Goal: pause <= 1 ms with 4 worker threads.
 *
 * Writes bench/results/threads-latest.json unless --json says otherwise.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { runMemslap } from "../test/support/drivers.js";
import { applyPatch, waitForControlSocket } from "../test/support/graft.js";
import { buildStock, compileReal, missingDebianPackages, patchReal, startMemcached, type RealServer } from "../test/support/real/programs.js";
import { missingTarballs, unpackRelease } from "../test/support/real/unpack.js";
import { freePort } from "../test/support/server.js";
import { median, table } from "./real-report.js";

const THREADS = { threads: true };
const WORKERS = 4;
const ROOT = path.resolve(import.meta.dirname, "..");

function log(m: string) {
  console.log(`[threads ${new Date().toISOString().slice(11, 19)}] ${m}`);
}

async function main() {
  const argv = process.argv.slice(2);
  const quick = argv.includes("--quick");
  const jsonAt = argv.indexOf("--json");
  const jsonOut = jsonAt >= 0 ? argv[jsonAt + 1] : path.join(ROOT, "bench", "results", "threads-latest.json");
  const missing = [...missingDebianPackages(), ...missingTarballs()];
  if (missing.length) {
    console.error(`bench/threads: cannot run: missing ${missing.join(", ")}`);
    process.exit(1);
  }
  const work = mkdtempSync(path.join(os.tmpdir(), "graft-bench-threads-"));
  const env: NodeJS.ProcessEnv = { ...process.env, GRAFT_RUNTIME_DIR: path.join(work, "rt") };
  mkdirSync(env.GRAFT_RUNTIME_DIR!, { mode: 0o700 });
  const servers: RealServer[] = [];
  const start = async (exe: string) => {
    const s = await startMemcached(exe, { port: await freePort(), workDir: path.join(work, "run"), env, threads: WORKERS });
    servers.push(s);
    return s;
  };
  try {
    log("unpacking and building 1.2.2 (stock and updateable, with threads) and the patch to 1.2.3");
    const stockTree = await unpackRelease("memcached", "1.2.2", path.join(work, "stock"), { updatePoint: false });
    const stock = await buildStock("memcached", stockTree.dir, THREADS);
    const t122 = await unpackRelease("memcached", "1.2.2", path.join(work, "src"), THREADS);
    const t123 = await unpackRelease("memcached", "1.2.3", path.join(work, "src"), THREADS);
    const build = await compileReal("memcached", t122.dir, path.join(work, "build"), undefined, THREADS);
    const patch = await patchReal("memcached", path.dirname(build.versionDataPath), t123.dir, path.join(work, "patch"), undefined, undefined, THREADS);

    const rounds = quick ? 2 : 6;
    const executeNumber = quick ? 20_000 : 100_000;
    const rates: Record<"stock" | "graft", number[]> = { stock: [], graft: [] };
    for (let i = 0; i < rounds; i++) {
      const order: ("stock" | "graft")[] = i % 2 ? ["graft", "stock"] : ["stock", "graft"];
      for (const b of order) {
        const s = await start(b === "stock" ? stock.binary : build.executable);
        const r = await runMemslap(s.port, { test: "set", concurrency: 32, executeNumber, timeoutMs: 300_000 });
        await s.stop(1000);
        if (r.failures || r.keys === null || !r.seconds) throw new Error(`memcslap against ${b}: ${r.failureLines.join("; ") || "no rate"}`);
        rates[b].push(r.keys / r.seconds);
        log(`round ${i + 1}/${rounds} ${b}: ${Math.round(r.keys / r.seconds)} keys/s`);
      }
    }
    const ratios = rates.graft.map((g, i) => g / rates.stock[i]);

    const pauseRuns = quick ? 2 : 5;
    const pauses: { pauseUs: number; waitedUs: number; threads: number }[] = [];
    for (let i = 0; i < pauseRuns; i++) {
      const s = await start(build.executable);
      await waitForControlSocket(s.pid, 5000, env);
      const load = runMemslap(s.port, { test: "set", concurrency: 32, executeNumber: 20_000, timeoutMs: 120_000 });
      await new Promise((r) => setTimeout(r, 300));
      const reply = await applyPatch(s.pid, patch.patchDir, 15_000, env);
      const l = await load;
      await s.stop(1000);
      if (!reply.ok) throw new Error(`apply run ${i + 1}: ${reply.line}`);
      if (l.failures) throw new Error(`load during apply run ${i + 1}: ${l.failureLines.join("; ")}`);
      pauses.push({ pauseUs: reply.pauseUs, waitedUs: reply.waitedUs, threads: reply.threads });
      log(`pause run ${i + 1}/${pauseRuns}: pause ${reply.pauseUs} us, ${reply.threads} threads parked, the first waited ${reply.waitedUs} us`);
    }

    const summary = {
      workers: WORKERS,
      throughput: { stockKeysPerSec: median(rates.stock), graftKeysPerSec: median(rates.graft), ratioMedian: median(ratios), ratios },
      pause: { medianUs: median(pauses.map((p) => p.pauseUs)), maxUs: Math.max(...pauses.map((p) => p.pauseUs)), waitedMedianUs: median(pauses.map((p) => p.waitedUs)), runs: pauses },
      goalPauseUs: 1000,
    };
    console.log(table([
      ["memcached 1.2.2 -t 4", "stock", "updateable", "ratio (median of pairs)"],
      ["memcslap set, keys/s", String(Math.round(summary.throughput.stockKeysPerSec)), String(Math.round(summary.throughput.graftKeysPerSec)), summary.throughput.ratioMedian.toFixed(3)],
    ]));
    console.log(table([
      ["update 1.2.2 -> 1.2.3 under load", "pause median (us)", "pause max (us)", "first parked waited, median (us)", "threads parked", "goal"],
      ["", String(summary.pause.medianUs), String(summary.pause.maxUs), String(summary.pause.waitedMedianUs), String(pauses[0]?.threads ?? "-"), summary.pause.maxUs <= 1000 ? "met (<= 1 ms)" : "NOT met"],
    ]));
    mkdirSync(path.dirname(jsonOut), { recursive: true });
    writeFileSync(jsonOut, JSON.stringify(summary, null, 2) + "\n");
    log(`wrote ${jsonOut}`);
  } finally {
    for (const s of servers) s.proc.kill("SIGKILL");
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
