/**
 * Live update (issue 4, "Must show"): the sample servers kvd and httpd, each
 * started updateable at v0 and driven by its real client under load (memcslap,
 * wrk) plus long-lived connections opened before the update, take v0 -> v1 ->
 * v2 while the load runs: zero failed requests, every stored key and value
 * still there, pre-update connections still working, the new version
 * answering. One scenario per kind of change, on the samples where
 * native/examples/CHANGES.md says they have it and on small fixture programs
 * (test/fixtures) where that is clearer; a patch whose init fails; an idle
 * server; an edited transformer.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { compileProgram, type CompileResult } from "../../lib/compile/index.js";
import { GraftError } from "../../lib/model/diagnostics.js";
import { REPO_ROOT } from "../support/build.js";
import type { PatchResult } from "../../lib/patch/index.js";
import {
  applyPatch,
  controlRequest,
  FIXTURE_CFLAGS,
  compileExample,
  compileFixture,
  patchExample,
  patchFixture,
  processStatus,
  sleep,
  waitForControlSocket,
  type ApplyReply,
} from "../support/graft.js";
import {
  freePort,
  HttpConnection,
  HTTPD_SERVER_NAMES,
  KVD_VERSIONS,
  makeDocroot,
  MemcacheClient,
  runMemslap,
  runWrk,
  SocketReader,
  startHttpd,
  startKvd,
  startServer,
  type MemslapResult,
  type RunningServer,
} from "../support/index.js";

const T = 120_000;
const ENV = { ...process.env, GRAFT_LOG: "stderr" };

let workDir = "";
const running: RunningServer[] = [];

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), "graft-live-"));
});

afterAll(async () => {
  for (const s of running) await s.stop(1000);
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

function track(s: RunningServer): RunningServer {
  running.push(s);
  return s;
}

function expectApplied(r: ApplyReply, srv: RunningServer): asserts r is Extract<ApplyReply, { ok: true }> {
  expect(r.ok, `${r.line}\nserver stderr:\n${srv.stderr()}`).toBe(true);
}

/** A line-protocol client (counterd, greeter): one line out, one line back. */
class LineClient {
  private constructor(readonly reader: SocketReader) {}
  static async connect(port: number): Promise<LineClient> {
    return new LineClient(await SocketReader.connect(port));
  }
  async cmd(line: string): Promise<string> {
    await this.reader.write(`${line}\n`);
    return this.reader.readLine();
  }
  close(): void {
    this.reader.close();
  }
}

async function startFixture(executable: string): Promise<RunningServer> {
  const port = await freePort();
  const srv = track(await startServer(executable, ["-p", String(port)], { port, env: ENV }));
  await waitForControlSocket(srv.pid);
  return srv;
}

// =================================================================== kvd

describe("kvd v0 -> v1 -> v2 -> v3 under memcslap load", () => {
  let build: CompileResult;
  let p1: PatchResult;
  let p2: PatchResult;
  let p3: PatchResult;
  let srv: RunningServer;
  let a: MemcacheClient; // stores the keys before the update, reads them after
  let b: MemcacheClient; // idle between updates, asks the version
  let c: MemcacheClient; // sends half a command before the update, the rest after
  const KEYS = 300;
  const keyOf = (i: number) => `pre:${i}:${"k".repeat(i % 40)}`;
  const valueOf = (i: number) => `value-${i}-${"v".repeat((i * 7) % 300)}`;
  const SWEPT = 12;
  let before: Record<string, string>;
  let reclaimSetAt = 0;

  // The load: memcslap runs back to back until told to stop; every run is kept.
  const loadRuns: { start: number; end: number; result: MemslapResult }[] = [];
  const appliedAt: number[] = [];
  let stopLoad = false;
  let load: Promise<void> = Promise.resolve();

  beforeAll(async () => {
    const dir = path.join(workDir, "kvd");
    build = await compileExample("kvd", "v0", path.join(dir, "v0"));
    p1 = await patchExample("kvd", path.join(dir, "v0"), "v1", path.join(dir, "p1"));
    p2 = await patchExample("kvd", path.join(dir, "p1"), "v2", path.join(dir, "p2"));
    p3 = await patchExample("kvd", path.join(dir, "p2"), "v3", path.join(dir, "p3"));
    srv = track(await startKvd(build.executable, { memoryMb: 512, env: ENV }));
    await waitForControlSocket(srv.pid);
  }, T);

  afterAll(async () => {
    stopLoad = true;
    await load.catch(() => {});
    for (const x of [a, b, c]) x?.close();
  });

  it(
    "v0 serves: a few hundred keys are stored, and connections opened before the update",
    async () => {
      a = await MemcacheClient.connect(srv.port);
      b = await MemcacheClient.connect(srv.port);
      c = await MemcacheClient.connect(srv.port);
      expect(await b.version()).toBe(KVD_VERSIONS.v0);
      for (let i = 0; i < KEYS; i++) expect(await a.set(keyOf(i), valueOf(i), { flags: i })).toBe("STORED");
      // Expiring items: one to be reclaimed by a lookup in v1, some to be swept by v2's loop.
      expect(await a.set("exp:reclaim", "x", { exptime: 1 })).toBe("STORED");
      reclaimSetAt = Date.now();
      for (let i = 0; i < SWEPT; i++) expect(await a.set(`exp:sweep:${i}`, "x", { exptime: 2 })).toBe("STORED");
      expect(await a.set("exp:long", "still here", { exptime: 3600 })).toBe("STORED");

      // v0's bugs, as clients see them: touch is not counted, nor a gets miss.
      expect(await a.touch(keyOf(1), 0)).toBe("TOUCHED");
      await a.gets("no-such-key");
      before = await a.stats();
      expect(before.cmd_touch).toBe("0");
      expect(before.get_misses).toBe("0");
      expect(before.reclaimed).toBeUndefined();
      expect(before.stats_calls).toBeUndefined();
      expect(Number(before.cmd_set)).toBe(KEYS + SWEPT + 2);

      // Half a command, finished after both updates.
      await c.send("set partial 7 0 13\r\nhalf");
    },
    T,
  );

  it(
    "v0 -> v1 applies while memcslap runs: bug fixes (touch and gets-miss counting), retyped fields keep their values, new global, new static local",
    async () => {
      load = (async () => {
        for (let i = 0; !stopLoad; i++) {
          const start = Date.now();
          const r =
            i % 2 === 0
              ? await runMemslap(srv.port, { test: "get", concurrency: 4, executeNumber: 1500, initialLoad: 200 })
              : await runMemslap(srv.port, { test: "set", concurrency: 4, executeNumber: 500 });
          loadRuns.push({ start, end: Date.now(), result: r });
        }
      })();
      await sleep(400);
      const r = await applyPatch(srv.pid, p1.patchDir);
      appliedAt.push(Date.now());
      expectApplied(r, srv);
      expect(r.sequence).toBe(1);
      expect(r.version).toBe(p1.manifest.target);
      expect((await processStatus(srv.pid)).sequence).toBe(1);

      // The connection opened before the update now talks to v1.
      expect(await b.version()).toBe(KVD_VERSIONS.v1);

      // struct item: nkey unsigned short -> unsigned int, exptime int -> long long, it_flags removed.
      const item = p1.manifest.types.find((t) => t.key === "item")!;
      expect(item.status).toBe("changed");
      expect(Object.fromEntries(item.fields.map((f) => [f.name, f.status]))).toMatchObject({ nkey: "retyped", exptime: "retyped", it_flags: "removed" });
      // Old items are read through the new layout: every key, flags and value intact.
      for (const i of [0, 1, 39, 150, KEYS - 1]) {
        expect(await a.retrieve("get", [keyOf(i)])).toMatchObject([{ key: keyOf(i), flags: i, value: valueOf(i) }]);
      }

      // Body fix (process_touch_command): a touch is now counted.
      expect(await a.touch(keyOf(2), 0)).toBe("TOUCHED");
      const s = await a.stats();
      expect(s.cmd_touch).toBe("1");
      // struct kvd_stats counters went unsigned int -> uint64_t: values carried over, not reset.
      expect(Number(s.cmd_set)).toBeGreaterThanOrEqual(Number(before.cmd_set));
      expect(Number(s.touch_hits)).toBe(Number(before.touch_hits) + 1);
      expect(Number(s.curr_connections)).toBeGreaterThanOrEqual(3);
      // New static local process_stats_command: calls, counted from this release on.
      expect(s.stats_calls).toBe("1");
      // New global items_reclaimed: a lookup of the item that expired under v0 frees it.
      expect(s.reclaimed).toBe("0");
      await sleep(reclaimSetAt + 2200 - Date.now());
      expect(await a.get("exp:reclaim")).toBeNull();
      expect((await a.stats()).reclaimed).toBe("1");
    },
    T,
  );

  it(
    "v1 -> v2 applies while memcslap runs: changed signatures, struct conn outgrows its room, event loop body (expiry sweep), static local keeps its value",
    async () => {
      await sleep(300);
      const r = await applyPatch(srv.pid, p2.patchDir);
      appliedAt.push(Date.now());
      expectApplied(r, srv);
      expect(r.sequence).toBe(2);
      expect(await b.version()).toBe(KVD_VERSIONS.v2);

      // struct conn grows 104 -> 216 bytes: past its room, so its data moved out of line.
      const conn = p2.manifest.types.find((t) => t.key === "conn")!;
      expect(conn.status).toBe("changed");
      expect(conn.outOfLine).toBe(true);
      // item_get and conn_new gained a parameter.
      const sig = p2.manifest.functions.filter((f) => f.status === "signature").map((f) => f.name);
      expect(sig).toEqual(expect.arrayContaining(["item_get", "conn_new"]));
      // New globals.
      const added = p2.manifest.globals.filter((g) => g.status === "added").map((g) => g.name);
      expect(added).toEqual(expect.arrayContaining(["current_time", "last_sweep", "sweep_cursor"]));

      // The static local of v1 kept its value: 2 stats calls under v1, this is the third.
      const s = await a.stats();
      expect(s.stats_calls).toBe("3");
      expect(s.cmd_touch).toBe("1");

      // New command: stats conns lists the connections opened under v0 too, and new ones with their peer.
      const fresh = await MemcacheClient.connect(srv.port);
      const freshPort = fresh.reader.socket.localPort;
      const conns = await fresh.stats("conns");
      fresh.close();
      const fds = new Set(Object.keys(conns).map((k) => k.split(":")[0]));
      expect(fds.size).toBeGreaterThanOrEqual(4);
      expect(Object.values(conns)).toContain(`127.0.0.1:${freshPort}`);

      // The new loop body sweeps the items that expired (no lookup touches them).
      const deadline = Date.now() + 20_000;
      let swept = 0;
      while (Date.now() < deadline) {
        swept = Number((await a.stats()).expired_swept);
        if (swept >= SWEPT) break;
        await sleep(250);
      }
      expect(swept).toBe(SWEPT);
    },
    T,
  );

  it(
    "v2 -> v3 applies while memcslap runs: struct conn, already out of line, changes again (a field retyped, two inserted before others)",
    async () => {
      const fdOf = async (client: MemcacheClient) => {
        const conns = await client.stats("conns");
        const port = client.reader.socket.localPort;
        return Object.keys(conns).find((k) => k.endsWith(":addr") && conns[k] === `127.0.0.1:${port}`)?.split(":")[0];
      };
      const fresh = await MemcacheClient.connect(srv.port);
      const fd = await fdOf(fresh);
      expect(fd).toBeDefined();
      const under2 = await fresh.stats("conns");
      expect(under2[`${fd}:bytes_in`]).toBeUndefined();
      const cmds2 = Number(under2[`${fd}:cmds`]);

      await sleep(300);
      const r = await applyPatch(srv.pid, p3.patchDir);
      appliedAt.push(Date.now());
      expectApplied(r, srv);
      expect(r.sequence).toBe(3);
      expect(await b.version()).toBe(KVD_VERSIONS.v3);

      // The version data of v2 says struct conn is out of line; v3's patch reads it that way and keeps it there.
      const conn = p3.manifest.types.find((t) => t.key === "conn")!;
      expect(conn.status).toBe("changed");
      expect(conn.outOfLine).toBe(true);
      expect(Object.fromEntries(conn.fields.map((f) => [f.name, f.status]))).toMatchObject({
        close_after_write: "retyped", // int -> bool
        ncmds: "same", // unsigned long -> uint64_t: the same type on this ABI
        bytes_in: "added",
        bytes_out: "added",
      });

      // A connection opened under v2 (its data already out of line) is transformed once more: its
      // peer and command count survive the move of every field after last_active; the new counters start at 0 and count.
      const after = await fresh.stats("conns");
      expect(after[`${fd}:addr`]).toBe(`127.0.0.1:${fresh.reader.socket.localPort}`);
      expect(Number(after[`${fd}:cmds`])).toBe(cmds2 + 1);
      expect(after[`${fd}:bytes_in`]).toBe(String("stats conns\r\n".length));
      expect(Number(after[`${fd}:bytes_out`])).toBe(0);
      expect(Number((await fresh.stats("conns"))[`${fd}:bytes_out`])).toBeGreaterThan(0);
      expect(Number(after[`${fd}:cmd_get`])).toBe(0);
      fresh.close();

      // Connections opened under v0 (a, b, c: no peer recorded, v2's transformer left it empty): moved
      // out of line by v2, transformed again by v3, still serving; the one asking has counted its own bytes.
      expect(await a.get(keyOf(7))).toBe(valueOf(7));
      const all = await a.stats("conns");
      const old = Object.keys(all).filter((k) => k.endsWith(":addr") && all[k] === "").map((k) => k.split(":")[0]);
      expect(old.length).toBeGreaterThanOrEqual(3);
      for (const f of old) expect(all[`${f}:bytes_in`], f).toMatch(/^\d+$/);
      const asked = `get ${keyOf(7)}\r\n`.length + "stats conns\r\n".length;
      expect(old.some((f) => all[`${f}:bytes_in`] === String(asked) && all[`${f}:cmd_get`] !== "0")).toBe(true);
    },
    T,
  );

  it(
    "after every update: memcslap saw no failure, every key and value is there, the pre-update connections work",
    async () => {
      stopLoad = true;
      await load;
      expect(loadRuns.length).toBeGreaterThanOrEqual(2);
      // Both updates happened while memcslap runs were going on back to back.
      for (const t of appliedAt) expect(loadRuns[0].start < t && loadRuns[loadRuns.length - 1].end > t, `no load around ${t}`).toBe(true);
      for (const { result: run } of loadRuns) {
        expect(run.failureLines, run.output).toEqual([]);
        expect(run.exitCode, run.output).toBe(0);
        expect(run.timedOut).toBe(false);
        expect(run.keys, run.output).toBeGreaterThan(0);
      }
      const after = await runMemslap(srv.port, { test: "mget", concurrency: 2, executeNumber: 500, initialLoad: 200 });
      expect(after.failureLines, after.output).toEqual([]);

      // Every key stored under v0, read back on the connection that stored it.
      for (let i = 0; i < KEYS; i += 50) {
        const keys = Array.from({ length: 50 }, (_, j) => keyOf(i + j));
        const got = await a.retrieve("get", keys);
        expect(got.map((v) => [v.key, v.flags, v.value])).toEqual(keys.map((k, j) => [k, i + j, valueOf(i + j)]));
      }
      expect(await a.get("exp:long")).toBe("still here");

      // The half command sent under v0 completes under v3.
      await c.send("-finished\r\n");
      expect(await c.readLine()).toBe("STORED");
      expect(await c.retrieve("get", ["partial"])).toMatchObject([{ flags: 7, value: "half-finished" }]);

      // The body fix carried into v3: a gets miss counts (the load's own misses aside).
      const m0 = Number((await b.stats()).get_misses);
      await b.gets("no-such-key-either");
      expect(Number((await b.stats()).get_misses)).toBe(m0 + 1);
      expect(await b.quit()).toBe(true);
      expect(srv.proc.exitCode).toBeNull();
    },
    T,
  );
});

// ================================================================= httpd

interface HttpdPatches {
  build: CompileResult;
  p1: PatchResult;
  p2: PatchResult;
  /** v1 -> v2 with an edited transformer for struct settings: the idle timeout is turned on. */
  p2x: PatchResult;
}
let httpdBuilt: Promise<HttpdPatches> | undefined;
const IDLE_DEFAULT_LINE = "    /* new field idle_timeout (int): starts zeroed */";

function httpdPatches(): Promise<HttpdPatches> {
  httpdBuilt ??= (async () => {
    const dir = path.join(workDir, "httpd");
    const build = await compileExample("httpd", "v0", path.join(dir, "v0"));
    const p1 = await patchExample("httpd", path.join(dir, "v0"), "v1", path.join(dir, "p1"));
    const p2 = await patchExample("httpd", path.join(dir, "p1"), "v2", path.join(dir, "p2"));
    const generated = await readFile(path.join(p2.patchDir, "xform.c"), "utf8");
    if (!generated.includes(IDLE_DEFAULT_LINE)) throw new Error(`xform.c of httpd v1 -> v2 has no line '${IDLE_DEFAULT_LINE}'`);
    const edited = path.join(dir, "xform-idle.c");
    await writeFile(edited, generated.replace(IDLE_DEFAULT_LINE, "    new->idle_timeout = 2; /* edited: the running server closes idle keep-alive connections too */"));
    const p2x = await patchExample("httpd", path.join(dir, "p1"), "v2", path.join(dir, "p2x"), { xformFile: edited });
    return { build, p1, p2, p2x };
  })();
  return httpdBuilt;
}

describe("httpd v0 -> v1 -> v2 under wrk load", () => {
  let build: CompileResult;
  let p1: PatchResult;
  let p2: PatchResult;
  let srv: RunningServer;
  let docroot: string;
  let a: HttpConnection; // stores the keys before the update, reads them after
  let b: HttpConnection; // a keep-alive connection idle between requests
  let half: HttpConnection; // sends half a request under v0, the rest under v2
  const KEYS = 300;
  let wrk: ReturnType<typeof runWrk>;
  let wrkStart = 0;
  const appliedAt: number[] = [];
  let statsBefore: Record<string, string>;

  const parseStats = (text: string) => Object.fromEntries(text.trim().split("\n").map((l) => l.split(": ", 2) as [string, string]));

  beforeAll(async () => {
    ({ build, p1, p2 } = await httpdPatches());
    docroot = await makeDocroot();
    srv = track(await startHttpd(build.executable, { docroot, env: ENV }));
    await waitForControlSocket(srv.pid);
  }, T);

  afterAll(async () => {
    a?.close();
    b?.close();
    await wrk?.catch(() => {});
    if (docroot) await rm(docroot, { recursive: true, force: true });
  });

  it(
    "v0 serves: keys stored, keep-alive connections open, v0's per-connection request counting",
    async () => {
      a = await HttpConnection.connect(srv.port);
      b = await HttpConnection.connect(srv.port);
      for (let i = 0; i < KEYS; i++) {
        const r = await a.request({ method: "POST", path: `/kv/key${i}`, body: `value ${i} ${"x".repeat(i % 50)}` });
        expect(r.status, r.text).toBe(201);
      }
      const v = await b.request({ path: "/version" });
      expect(v.status).toBe(404);
      expect(v.headers.server).toBeUndefined();
      half = await HttpConnection.connect(srv.port);
      await half.sendRaw(`GET /kv/key5 HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\n`);
      // The v0 bug: three more requests on one keep-alive connection are not counted.
      // v0 counts a request per accepted connection: wait until `half` is accepted, or it would count in between.
      let s0 = parseStats((await b.request({ path: "/stats" })).text);
      for (let i = 0; i < 100 && Number(s0.connections_current) < 3; i++) {
        await new Promise((r) => setTimeout(r, 20));
        s0 = parseStats((await b.request({ path: "/stats" })).text);
      }
      expect(Number(s0.connections_current)).toBeGreaterThanOrEqual(3);
      for (let i = 0; i < 3; i++) expect((await b.request({ path: "/" })).status).toBe(200);
      statsBefore = parseStats((await b.request({ path: "/stats" })).text);
      expect(statsBefore.requests).toBe(s0.requests);
      expect(Number(statsBefore.connections_total)).toBeGreaterThanOrEqual(2);
    },
    T,
  );

  it(
    "v0 -> v1 applies under wrk: Server header and /version, changed send_response signature, retyped counters keep their values, struct conn moves out of line",
    async () => {
      wrkStart = Date.now();
      wrk = runWrk(`http://127.0.0.1:${srv.port}/static/hello.txt`, { threads: 2, connections: 8, durationSec: 6, requestTimeoutSec: 5 });
      await sleep(1000);
      const r = await applyPatch(srv.pid, p1.patchDir);
      appliedAt.push(Date.now());
      expectApplied(r, srv);
      expect(r.sequence).toBe(1);

      // The keep-alive connection opened under v0 is answered by v1.
      const v = await b.request({ path: "/version" });
      expect(v.status).toBe(200);
      expect(v.text.trim()).toBe(HTTPD_SERVER_NAMES.v1);
      expect(v.headers.server).toBe(HTTPD_SERVER_NAMES.v1);

      // send_response gained extra_headers: /stats is no-store, a 405 lists Allow.
      expect(p1.manifest.functions.find((f) => f.name === "send_response")?.status).toBe("signature");
      const st = await a.request({ path: "/stats" });
      expect(st.headers["cache-control"]).toBe("no-store");
      const stats = parseStats(st.text);
      expect(stats.version).toBe(HTTPD_SERVER_NAMES.v1);
      // http_stats.requests and connections_total went int -> unsigned long long: carried over.
      expect(Number(stats.connections_total)).toBeGreaterThanOrEqual(Number(statsBefore.connections_total));
      expect(Number(stats.connections_total)).toBeLessThan(Number(statsBefore.connections_total) + 100_000);
      const m = await a.request({ method: "DELETE", path: "/kv/key1" });
      expect(m.status).toBe(405);
      expect(m.headers.allow).toBeDefined();

      // struct conn: +200-byte user_agent, status unsigned short -> unsigned int: past its room.
      const conn = p1.manifest.types.find((t) => t.key === "conn")!;
      expect(conn.outOfLine).toBe(true);
      expect(conn.fields.find((f) => f.name === "user_agent")?.status).toBe("added");
      expect(conn.fields.find((f) => f.name === "status")?.status).toBe("retyped");
    },
    T,
  );

  it(
    "v1 -> v2 applies under wrk: DELETE /kv, method enum replaces char[8], new globals",
    async () => {
      await sleep(800);
      const r = await applyPatch(srv.pid, p2.patchDir);
      appliedAt.push(Date.now());
      expectApplied(r, srv);
      expect(r.sequence).toBe(2);

      const v = await b.request({ path: "/version" });
      expect(v.text.trim()).toBe(HTTPD_SERVER_NAMES.v2);
      expect(v.headers.server).toBe(HTTPD_SERVER_NAMES.v2);
      // conn.method: char[8] -> enum; the pre-update connections parse methods with the new code.
      const method = p2.manifest.types.find((t) => t.key === "conn")!.fields.find((f) => f.name === "method");
      expect(method?.status).toBe("retyped");
      const d = await a.request({ method: "DELETE", path: "/kv/key0" });
      expect(d.status).toBe(200);
      expect(d.text).toContain("deleted");
      expect((await a.request({ path: "/kv/key0" })).status).toBe(404);
      expect((await a.request({ method: "PUT", path: "/kv/key0", body: "value 0 " })).status).toBe(201);
      const stats = parseStats((await a.request({ path: "/stats" })).text);
      expect(stats.kv_deletes).toBe("1");
      expect(stats.idle_closed).toBe("0");
      expect(p2.manifest.globals.filter((g) => g.status === "added").map((g) => g.name)).toEqual(expect.arrayContaining(["idle_closed", "last_idle_check"]));
    },
    T,
  );

  it(
    "after both updates: wrk saw zero errors, every key is there, the pre-update connections work, requests counted per request",
    async () => {
      const w = await wrk;
      // wrk ran (its 6 s) across both updates.
      expect(appliedAt).toHaveLength(2);
      for (const t of appliedAt) expect(t - wrkStart).toBeLessThan(w.durationSec * 1000 - 500);
      expect(w.totalErrors, w.output).toBe(0);
      expect(w.requests, w.output).toBeGreaterThan(100);
      expect(w.exitCode).toBe(0);

      for (let i = 0; i < KEYS; i++) {
        const r = await a.request({ path: `/kv/key${i}` });
        expect(r.status).toBe(200);
        expect(r.text).toBe(`value ${i} ${"x".repeat(i % 50)}`);
      }
      // The request begun under v0 (struct conn then moved out of line, and changed again) completes under v2.
      await half.sendRaw("User-Agent: slow-client\r\n\r\n");
      const late = await half.readResponse();
      expect(late.status).toBe(200);
      expect(late.text).toBe(`value 5 ${"x".repeat(5)}`);
      expect(late.headers.server).toBe(HTTPD_SERVER_NAMES.v2);
      half.close();

      // The v1 fix, in v2: four requests on one connection count four.
      const s0 = parseStats((await b.request({ path: "/stats" })).text);
      for (let i = 0; i < 3; i++) expect((await b.request({ path: "/", headers: { "User-Agent": "graft-live/1" } })).status).toBe(200);
      const s1 = parseStats((await b.request({ path: "/stats" })).text);
      expect(Number(s1.requests) - Number(s0.requests)).toBe(4);
      // New fields filled by the new code on an old connection.
      expect(s1.last_user_agent).toBe("graft-live/1");
      // The generated transformer gave settings.idle_timeout 0: the new idle sweep is off, nothing was closed.
      expect(s1.idle_closed).toBe("0");
      expect(srv.proc.exitCode).toBeNull();
    },
    T,
  );
});

describe("httpd v1 -> v2 with an edited transformer: the new event loop's idle sweep takes effect", () => {
  it(
    "the generated transformer leaves settings.idle_timeout 0 (sweep off); the edited one sets 2 s, and the new loop body closes an idle pre-update connection",
    async () => {
      const { build, p1, p2, p2x } = await httpdPatches();
      expect(await readFile(path.join(p2.patchDir, "xform.c"), "utf8")).toContain(IDLE_DEFAULT_LINE);
      expect(await readFile(path.join(p2x.patchDir, "xform.c"), "utf8")).toContain("new->idle_timeout = 2;");
      expect(p2x.manifest.functions.find((f) => f.name === "close_idle")?.status).toBe("added");

      const docroot = await makeDocroot();
      const srv = track(await startHttpd(build.executable, { docroot, env: ENV }));
      try {
        await waitForControlSocket(srv.pid);
        const idle = await HttpConnection.connect(srv.port);
        const busy = await HttpConnection.connect(srv.port);
        expect((await idle.request({ path: "/" })).status).toBe(200);
        expectApplied(await applyPatch(srv.pid, p1.patchDir), srv);
        expectApplied(await applyPatch(srv.pid, p2x.patchDir), srv);
        // The busy connection keeps talking; the idle one (last request under v0) is closed by the new loop body.
        const t0 = Date.now();
        let closed = false;
        while (Date.now() - t0 < 8000 && !closed) {
          expect((await busy.request({ path: "/version" })).text.trim()).toBe(HTTPD_SERVER_NAMES.v2);
          closed = await idle.waitClosed(500);
        }
        expect(closed).toBe(true);
        const stats = await busy.request({ path: "/stats" });
        expect(stats.text).toMatch(/^idle_closed: 1$/m);
        busy.close();
        idle.close();
      } finally {
        await srv.stop();
        await rm(docroot, { recursive: true, force: true });
      }
    },
    T,
  );
});

// ================================================= counterd (fixture, v0 -> v1)

describe("counterd fixture: static local, new global, field default, retyped field, edited transformer, failing init", () => {
  let v0: CompileResult;
  let p1: PatchResult;
  let p1x: PatchResult;
  let p1bad: PatchResult;
  const dir = () => path.join(workDir, "counterd");

  beforeAll(async () => {
    v0 = await compileFixture("counterd", "v0", path.join(dir(), "v0"));
    p1 = await patchFixture("counterd", path.join(dir(), "v0"), "v1", path.join(dir(), "p1"));
    // The edited transformer: `total` (everything ever added) starts at the old value, not at 0.
    const generated = await readFile(path.join(dir(), "p1", "xform.c"), "utf8");
    const line = "    /* new field total (long long): starts zeroed */";
    expect(generated).toContain(line);
    const edited = path.join(dir(), "xform-edited.c");
    await writeFile(edited, generated.replace(line, "    new->total = old->value; /* edited: what was counted so far counts toward the total */"));
    p1x = await patchFixture("counterd", path.join(dir(), "v0"), "v1", path.join(dir(), "p1x"), { xformFile: edited });
    p1bad = await patchFixture("counterd", path.join(dir(), "v0"), "v1-initfail", path.join(dir(), "p1bad"));
  }, T);

  async function primed(): Promise<{ srv: RunningServer; c: LineClient }> {
    const srv = await startFixture(v0.executable);
    const c = await LineClient.connect(srv.port);
    expect(await c.cmd("version")).toBe("counterd 0");
    for (let i = 0; i < 5; i++) await c.cmd("inc apples");
    for (let i = 0; i < 2; i++) await c.cmd("inc pears");
    expect(await c.cmd("get apples")).toBe("5");
    expect(await c.cmd("served")).toBe("10");
    return { srv, c };
  }

  it(
    "generated patch: served (static local) keeps counting, value int -> long long kept, new field takes its /* graft: default 1 */, new global",
    async () => {
      const { srv, c } = await primed();
      expect(p1.manifest.globals.find((g) => g.name === "resets")?.status).toBe("added");
      const counter = p1.manifest.types.find((t) => t.key === "counter")!;
      expect(Object.fromEntries(counter.fields.map((f) => [f.name, f.status]))).toEqual({ name: "same", value: "retyped", step: "added", total: "added" });

      const r = await applyPatch(srv.pid, p1.patchDir);
      expectApplied(r, srv);
      expect(await c.cmd("version")).toBe("counterd 1");
      // The static local of handle_line: 11 commands so far, this is the 12th.
      expect(await c.cmd("served")).toBe("12");
      // value kept (int -> long long); step from the default; total generated as zero.
      expect(await c.cmd("get apples")).toBe("5 0 1");
      expect(await c.cmd("inc apples")).toBe("6");
      expect(await c.cmd("get apples")).toBe("6 1 1");
      expect(await c.cmd("get pears")).toBe("2 0 1");
      // New global, new commands.
      expect(await c.cmd("resets")).toBe("0");
      expect(await c.cmd("reset pears")).toBe("OK");
      expect(await c.cmd("resets")).toBe("1");
      expect(await c.cmd("step pears 10")).toBe("OK");
      expect(await c.cmd("inc pears")).toBe("10");
      expect(await c.cmd("get pears")).toBe("10 10 10");
      // A counter made by the new code.
      expect(await c.cmd("inc plums")).toBe("1");
      // The same patch again: the process is no longer at its base version.
      const again = await applyPatch(srv.pid, p1.patchDir);
      expect(again.ok, again.line).toBe(false);
      if (!again.ok) expect(again.code).toBe("wrong-base");
      expect(await c.cmd("version")).toBe("counterd 1");
      c.close();
      await srv.stop();
    },
    T,
  );

  it(
    "edited transformer (--xform): total starts at the old value",
    async () => {
      expect(await readFile(path.join(p1x.patchDir, "xform.c"), "utf8")).toContain("new->total = old->value;");
      const { srv, c } = await primed();
      const r = await applyPatch(srv.pid, p1x.patchDir);
      expectApplied(r, srv);
      expect(await c.cmd("get apples")).toBe("5 5 1");
      expect(await c.cmd("inc apples")).toBe("6");
      expect(await c.cmd("get apples")).toBe("6 6 1");
      expect(await c.cmd("get pears")).toBe("2 2 1");
      c.close();
      await srv.stop();
    },
    T,
  );

  it(
    "edited transformers that no longer match the types are rejected before anything is built into a patch",
    async () => {
      const generated = await readFile(path.join(dir(), "p1", "xform.c"), "utf8");
      const tryXform = async (name: string, text: string): Promise<GraftError> => {
        const file = path.join(dir(), `xform-${name}.c`);
        await writeFile(file, text);
        const e = await patchFixture("counterd", path.join(dir(), "v0"), "v1", path.join(dir(), `px-${name}`), { xformFile: file }).then(
          () => undefined,
          (err: unknown) => err,
        );
        expect(e, name).toBeInstanceOf(GraftError);
        return e as GraftError;
      };
      const missing = await tryXform("missing", generated.replace(/\/\* ==== graft-xform counter 0 1 ==== \*\/[\s\S]*$/, ""));
      expect(missing.exitCode).toBe(2);
      expect(missing.diagnostics).toMatchObject([{ code: 4106, message: "missing the transformer for counter 0 -> 1" }]);

      const directive = await tryXform("directive", generated.replace("{\n", "{\n#include <stdio.h>\n"));
      expect(directive.diagnostics[0]).toMatchObject({ code: 4102 });
      expect(directive.diagnostics[0].line).toBe(generated.split("\n").findIndex((l) => l === "{") + 2);

      const field = await tryXform("field", generated.replace("/* new field total (long long): starts zeroed */", "new->total = old->total;"));
      const line = generated.split("\n").findIndex((l) => l.includes("new field total")) + 1;
      // gcc's error comes back structured, on the line of xform.c, with exit code 2.
      expect(field.exitCode).toBe(2);
      expect(field.diagnostics).toContainEqual(expect.objectContaining({ code: 4110, category: "error", file: "xform.c", line, message: expect.stringMatching(/has no member named .total./) }));
    },
    T,
  );

  it(
    "a patch whose graft_patch_init() returns -1 is refused with init-failed; v0 keeps serving with its state; a good patch applies afterwards",
    async () => {
      expect(p1bad.manifest.functions.find((f) => f.name === "graft_patch_init")?.status).toBe("added");
      const { srv, c } = await primed();
      const r = await applyPatch(srv.pid, p1bad.patchDir);
      expect(r.ok, r.line).toBe(false);
      if (!r.ok) expect(r.code).toBe("init-failed");
      const st = await processStatus(srv.pid);
      expect(st.sequence).toBe(0);
      expect(st.version).toBe(v0.versionData.digest);
      // Nothing switched: the old code, the old data layout, the old statics.
      expect(await c.cmd("version")).toBe("counterd 0");
      expect(await c.cmd("get apples")).toBe("5");
      expect(await c.cmd("inc apples")).toBe("6");
      expect(await c.cmd("resets")).toBe("ERROR");
      expect(await c.cmd("served")).toBe("15");
      const other = await LineClient.connect(srv.port);
      expect(await other.cmd("get pears")).toBe("2");
      other.close();
      // The process is still updateable: the good patch applies.
      const ok = await applyPatch(srv.pid, p1.patchDir);
      expectApplied(ok, srv);
      expect(await c.cmd("version")).toBe("counterd 1");
      expect(await c.cmd("get apples")).toBe("6 0 1");
      expect(await c.cmd("served")).toBe("19");
      c.close();
      await srv.stop();
    },
    T,
  );
});

// ================================================ greeter (fixture, idle server)

describe("greeter fixture: an idle server blocked in accept()", () => {
  it(
    "with no traffic at all, v0 -> v1 (a change to the loop body) applies, and the next client is greeted by v1",
    async () => {
      const dir = path.join(workDir, "greeter");
      const v0 = await compileFixture("greeter", "v0", path.join(dir, "v0"));
      const p1 = await patchFixture("greeter", path.join(dir, "v0"), "v1", path.join(dir, "p1"));
      expect(p1.manifest.functions.find((f) => f.name === "main__loop1")?.status).toBe("changed");

      const port = await freePort();
      // Not startServer: its readiness probe would be a client. Wait for the startup line instead.
      const { spawn } = await import("node:child_process");
      const proc = spawn(v0.executable, ["-p", String(port)], { env: ENV, stdio: ["ignore", "ignore", "pipe"] });
      let err = "";
      proc.stderr.on("data", (d: Buffer) => (err += d.toString()));
      try {
        for (let i = 0; i < 250 && !err.includes("greeter 0 listening"); i++) await sleep(20);
        expect(err).toContain("greeter 0 listening");
        await waitForControlSocket(proc.pid!);
        await sleep(300);
        // The main thread sleeps (in accept()).
        const stat = await readFile(`/proc/${proc.pid}/task/${proc.pid}/stat`, "utf8");
        expect(stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3)).toBe("S");

        const t0 = Date.now();
        const r = await applyPatch(proc.pid!, p1.patchDir, 5000);
        expect(r.ok, `${r.line}\n${err}`).toBe(true);
        expect(Date.now() - t0).toBeLessThan(3000);

        const c1 = await SocketReader.connect(port);
        expect(await c1.readLine()).toBe("hello, visitor 1, from greeter 1");
        c1.close();
        const c2 = await SocketReader.connect(port);
        expect(await c2.readLine()).toBe("hello, visitor 2, from greeter 1");
        c2.close();
      } finally {
        proc.kill("SIGKILL");
      }
    },
    T,
  );
});

// ============================================ pool (fixture, threads, v0 -> v1)

/** FNV-1a of s as the pool fixture prints it. */
function fnv1a(s: string): string {
  let h = 2166136261;
  for (const b of Buffer.from(s)) h = Math.imul(h ^ b, 16777619) >>> 0;
  return h.toString(16).padStart(8, "0");
}

describe("pool fixture: a thread pool whose work item type changes, updated under load", () => {
  let v0: CompileResult;
  let p1: PatchResult;
  const dir = () => path.join(workDir, "pool");

  beforeAll(async () => {
    v0 = await compileFixture("pool", "v0", path.join(dir(), "v0"));
    p1 = await patchFixture("pool", path.join(dir(), "v0"), "v1", path.join(dir(), "p1"));
  }, T);

  it(
    "16 clients keep 4 workers and the queue busy; every thread parks, struct job changes, queued jobs are transformed, no request fails",
    async () => {
      // The threads and their points: recorded at compile, named with this patch's verdicts.
      expect(v0.versionData.threads?.map((t) => [t.entry, t.points.length > 0])).toEqual([["main", true], ["worker", true]]);
      expect(p1.manifest.threads?.map((t) => [t.entry, t.points.some((q) => q.safe)])).toEqual([["main", true], ["worker", true]]);
      const job = p1.manifest.types.find((t) => t.key === "job")!;
      expect(Object.fromEntries(job.fields.map((f) => [f.name, f.status]))).toEqual({ fd: "same", seq: "same", queued_us: "added", retries: "added" });
      expect(p1.manifest.safety.every((s) => s.safe), JSON.stringify(p1.manifest.safety)).toBe(true);
      const port = await freePort();
      const srv = track(await startServer(v0.executable, ["-p", String(port), "-t", "4"], { port, env: ENV }));
      await waitForControlSocket(srv.pid);
      const admin = await LineClient.connect(port);
      expect(await admin.cmd("version")).toBe("pool 0");

      let stopping = false;
      const errors: string[] = [];
      let sent = 0;
      // Each client: slow work (so that jobs wait in the queue) and hashes, every reply checked; h0 until the update, then h1.
      const clients = await Promise.all(Array.from({ length: 16 }, () => LineClient.connect(port)));
      const loops = clients.map(async (c, k) => {
        let seenNew = false;
        for (let i = 0; !stopping; i++) {
          const slept = await c.cmd("slow 5");
          sent++;
          if (slept !== "slept 5") errors.push(`client ${k}: slow: ${slept}`);
          const text = `c${k}-${i}`;
          const h = await c.cmd(`hash ${text}`);
          sent++;
          const m = /^h([01]) ([0-9a-f]{8})$/.exec(h);
          if (!m || m[2] !== fnv1a(text)) errors.push(`client ${k}: hash ${text}: ${h}`);
          else if (m[1] === "1") seenNew = true;
          else if (seenNew) errors.push(`client ${k}: old code answered after new code did`);
        }
        return seenNew;
      });
      await sleep(400);
      const r = await applyPatch(srv.pid, p1.patchDir, 10_000);
      await sleep(400);
      stopping = true;
      const sawNew = await Promise.all(loops);
      expect(r.ok, `${r.line}\n${srv.stderr()}`).toBe(true);
      if (!r.ok) return;
      expect(r.threads).toBe(5); // main and 4 workers
      expect(errors).toEqual([]);
      expect(sawNew.every(Boolean)).toBe(true);
      expect(await admin.cmd("version")).toBe("pool 1");
      // A thread created after the update starts in the new code (pthread_create got worker's stable entry).
      expect(await admin.cmd("spawn")).toBe("spawned 5");
      await sleep(100);
      expect(await admin.cmd("startedv1")).toBe("1");
      // The jobs that waited in the queue across the update were made by v0 and served by v1, transformed on the way.
      expect(Number(await admin.cmd("oldjobs"))).toBeGreaterThan(0);
      // Every command counted once: the clients', and admin's five before this one (version, version, spawn, startedv1, oldjobs).
      expect(Number(await admin.cmd("served"))).toBe(sent + 5);
      for (const c of clients) c.close();
      admin.close();
    },
    T,
  );

  it("a thread whose code reaches no update point is named at compile (GR3030)", async () => {
    const cwd = path.join(REPO_ROOT, "test", "cases", "live", "program-thread", "v0");
    const r = await compileProgram({ name: "ticker", files: ["main.c"], outDir: path.join(dir(), "ticker"), cflags: [...FIXTURE_CFLAGS], cwd, insecureAcceptUnsigned: true });
    expect(r.diagnostics.filter((d) => d.code === 3030).map((d) => `${path.basename(d.file ?? "")}:${d.line} ${d.message.slice(0, 60)}`))
      .toEqual(["main.c:22 the thread started here at ticker() reaches no update point:"]);
  }, T);

  it(
    "stress: 1000 control requests at random moments under load, valid and invalid mixed: one apply, every reply well-formed, no request fails",
    async () => {
      const port = await freePort();
      const srv = track(await startServer(v0.executable, ["-p", String(port), "-t", "4"], { port, env: ENV }));
      await waitForControlSocket(srv.pid);
      // A patch directory whose patch.so is not a shared object: refused, every time.
      const other = path.join(dir(), "p1-not-elf");
      await cp(p1.patchDir, other, { recursive: true });
      await writeFile(path.join(other, "patch.so"), "this is not a shared object\n".repeat(100));
      let stopping = false;
      const errors: string[] = [];
      const loads = Array.from({ length: 8 }, async (_, k) => {
        const c = await LineClient.connect(port);
        for (let i = 0; !stopping; i++) {
          const h = await c.cmd(`hash s${k}-${i}`);
          if (!new RegExp(`^h[01] ${fnv1a(`s${k}-${i}`)}$`).test(h)) errors.push(`client ${k}: ${h}`);
        }
        c.close();
      });
      const kinds = [
        { line: () => `apply ${p1.patchDir} 2000`, want: /^(applied .* threads=5 waited_us=\d+|refused wrong-base .*)$/ },
        { line: () => `apply ${other} 2000`, want: /^refused (load-failed|bad-format|digest-mismatch|wrong-base) / }, // wrong-base once p1 is applied: the base is checked before loading
        { line: () => `apply ${path.join(dir(), "no-such-patch")} 2000`, want: /^refused bad-request cannot read / },
        { line: () => "apply relative/path 2000", want: /^refused bad-request the path must be absolute$/ },
        { line: () => `apply ${p1.patchDir} 2000 until=1`, want: /^refused timeout the request reached the runtime \d+ ms after its deadline/ },
        { line: () => "apply /x 10 until=never", want: /^refused bad-request until= / },
        { line: () => "frobnicate", want: /^refused bad-request unknown request/ },
        { line: () => "status", want: new RegExp(`^ok program=pool version=[0-9a-f]{64} sequence=[01] patches=[01] pid=${srv.pid}$`) },
      ];
      const replies: string[] = [];
      const bad: string[] = [];
      let next = 0;
      const N = 1000;
      await Promise.all(Array.from({ length: 4 }, async () => {
        while (next < N) {
          const i = next++;
          const kind = kinds[Math.floor(Math.random() * kinds.length)];
          await sleep(Math.floor(Math.random() * 4));
          let reply: string;
          try {
            reply = await controlRequest(srv.pid, kind.line(), 10_000, ENV);
          } catch (e) {
            reply = `(no reply: ${(e as Error).message})`;
          }
          replies.push(reply);
          // busy: another apply of ours was in flight; a wrong reply otherwise.
          if (!kind.want.test(reply) && !/^refused busy /.test(reply)) bad.push(`${i}: ${kind.line()} -> ${reply}`);
        }
      }));
      stopping = true;
      await Promise.all(loads);
      expect(bad).toEqual([]);
      expect(replies.filter((r) => r.startsWith("applied ")).length).toBe(1);
      expect(errors).toEqual([]);
      expect(await processStatus(srv.pid, ENV)).toMatchObject({ program: "pool", sequence: 1, patches: 1, pid: srv.pid });
      const admin = await LineClient.connect(port);
      expect(await admin.cmd("version")).toBe("pool 1");
      admin.close();
    },
    T,
  );
});

