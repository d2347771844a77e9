/**
 * memcached with threads (issue 14): 1.2.2 configured `--enable-threads`,
 * run with `-t 4` (the dispatcher, which is the main thread, and worker
 * threads, each with its own libevent loop), updated 1.2.2 -> 1.2.3 -> 1.2.4
 * while memcslap drives it with 32 connections and two checking clients
 * set and get in a loop. An update is a barrier: it applies only when every
 * thread waits at a safe update point (the dispatcher in clock_handler,
 * each worker after an event it handled), so the reply names all of them.
 * Nothing may fail: no request, no key, no connection held across updates.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { CompileResult } from "../../lib/compile/index.js";
import type { PatchResult } from "../../lib/patch/index.js";
import { runMemslap } from "../support/drivers.js";
import { applyPatch, processStatus, waitForControlSocket } from "../support/graft.js";
import { MemcacheClient } from "../support/memcache-client.js";
import { checkKeys, MEMCACHED_KEYS, openMemcacheConnections, startMemcacheLoad, storeKeys } from "../support/real/clients.js";
import { applyReview, MEMCACHED_124_REVIEW } from "../support/real/review.js";
import { compileReal, missingDebianPackages, patchReal, startMemcached, type RealServer } from "../support/real/programs.js";
import { missingTarballs, RELEASES, unpackRelease, type UnpackedRelease } from "../support/real/unpack.js";
import { freePort } from "../support/server.js";

const missing = [...missingDebianPackages().map((p) => `Debian package ${p}`), ...missingTarballs()];
const skipReason = missing.length ? `missing: ${missing.join(", ")}` : "";
const ENV = { ...process.env, GRAFT_LOG: "stderr" };
const THREADS = { threads: true };
/** memcached's -t: the dispatcher and three workers. */
const WORKERS = 4;

describe.skipIf(!!skipReason)(`memcached with threads, updated live under load${skipReason ? ` (skipped: ${skipReason})` : ""}`, () => {
  let workDir = "";
  const trees: UnpackedRelease[] = [];
  let build: CompileResult;
  const patches: PatchResult[] = [];
  let srv: RealServer | undefined;
  let held: MemcacheClient[] = [];

  beforeAll(async () => {
    workDir = await mkdtemp(path.join(os.tmpdir(), "graft-real-threads-"));
    for (const v of RELEASES.memcached) trees.push(await unpackRelease("memcached", v, path.join(workDir, "src"), THREADS));
  });

  afterAll(async () => {
    held.forEach((c) => c.close());
    await srv?.stop(1000);
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it("1.2.2 with threads builds updateable and serves with -t 4; both update points are safe for both patches", async () => {
    build = await compileReal("memcached", trees[0].dir, path.join(workDir, "build"), undefined, THREADS);
    expect(build.diagnostics.filter((d) => d.category === "error")).toEqual([]);
    expect(build.versionData.updatePoints.map((p) => p.function).sort()).toEqual(["clock_handler", "event_handler"]);
    for (const i of [0, 1]) {
      const from = i === 0 ? path.dirname(build.versionDataPath) : patches[0].patchDir;
      let p = await patchReal("memcached", from, trees[i + 1].dir, path.join(workDir, `patch-${i + 1}`), undefined, undefined, THREADS);
      if (RELEASES.memcached[i + 1] === "1.2.4") {
        const reviewed = path.join(workDir, "1.2.4.xform.c");
        await writeFile(reviewed, applyReview(await readFile(path.join(p.patchDir, "xform.c"), "utf8"), MEMCACHED_124_REVIEW));
        p = await patchReal("memcached", from, trees[i + 1].dir, path.join(workDir, `patch-${i + 1}-reviewed`), undefined, reviewed, THREADS);
      }
      expect(p.manifest.safety.every((s) => s.safe), JSON.stringify(p.manifest.safety)).toBe(true);
      patches.push(p);
    }
    srv = await startMemcached(build.executable, { port: await freePort(), workDir: path.join(workDir, "run"), env: ENV, threads: WORKERS });
    await waitForControlSocket(srv.pid);
    held = await openMemcacheConnections(srv.port, 4);
    expect(await held[0].version()).toBe("1.2.2");
    expect(await storeKeys(held[0])).toEqual([]);
    expect(await checkKeys(held[1])).toEqual([]);
  });

  for (const i of [0, 1]) {
    const to = RELEASES.memcached[i + 1];
    it(`${RELEASES.memcached[i]} -> ${to} under memcslap --concurrency=32: every thread parks, applied; no failed request, keys and connections intact`, async () => {
      expect(srv, "memcached is not running").toBeDefined();
      const s = srv!;
      const loads = [startMemcacheLoad(s.port, "load-a"), startMemcacheLoad(s.port, "load-b")];
      const slap = runMemslap(s.port, { test: "set", concurrency: 32, executeNumber: 15_000, timeoutMs: 120_000 });
      await new Promise((r) => setTimeout(r, 500));
      const reply = await applyPatch(s.pid, patches[i].patchDir, 15_000);
      const slapped = await slap;
      const results = await Promise.all(loads.map((l) => l.stop()));
      expect(reply.ok, `${reply.line}\nserver stderr:\n${s.stderr().slice(-3000)}`).toBe(true);
      if (!reply.ok) return;
      // The dispatcher and every worker were parked for it.
      expect(reply.threads).toBe(WORKERS);
      console.log(`memcached -t ${WORKERS} ${RELEASES.memcached[i]} -> ${to}: pause ${reply.pauseUs} us with ${reply.threads} threads parked, the first parked ${reply.waitedUs} us`);
      expect(slapped.failures, slapped.failureLines.join("\n")).toBe(0);
      expect(slapped.exitCode).toBe(0);
      for (const r of results) {
        expect(r.failed, r.errors.join("\n")).toBe(0);
        expect(r.requests).toBeGreaterThan(0);
      }
      const st = await processStatus(s.pid);
      expect([st.pid, st.sequence]).toEqual([s.pid, i + 1]);
      for (const [k, c] of held.entries()) expect(await checkKeys(c), `held connection ${k}`).toEqual([]);
      expect(await held[2].version()).toBe(to);
      const stats = await held[3].stats();
      expect(Number(stats.threads)).toBe(WORKERS);
      expect(Number(stats.curr_items)).toBeGreaterThanOrEqual(MEMCACHED_KEYS);
      const fresh = await MemcacheClient.connect(s.port);
      expect(await fresh.version()).toBe(to);
      expect(await checkKeys(fresh)).toEqual([]);
      fresh.close();
    });
  }
});
