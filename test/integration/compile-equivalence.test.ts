/**
 * Updateable compilation (issue 3, "Must show"): every release of both sample
 * servers builds stock (its Makefile, plain gcc) and updateable (graft
 * compile), and the two builds give identical results on the same workload
 * driven by the real clients: memccapable's verdict per test, byte-identical
 * replies to one sequence of memcached commands (volatile stats aside), equal
 * curl responses (Date aside), and memcslap and wrk without errors on both.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { CompileResult } from "../../lib/compile/index.js";
import { compileExample, controlRequest, waitForControlSocket } from "../support/graft.js";
import {
  buildStock,
  curl,
  EXAMPLE_VERSIONS,
  KVD_RELEASES,
  releasesOf,
  exampleDir,
  HTTPD_SERVER_NAMES,
  KVD_VERSIONS,
  makeDocroot,
  MemcacheClient,
  runMemcapable,
  runMemslap,
  runWrk,
  startHttpd,
  startKvd,
  type BuildResult,
  type ExampleProgram,
  type AnyExampleVersion,
  type RunningServer,
} from "../support/index.js";

const T = 120_000;
const execFileP = promisify(execFile);

let workDir = "";
let docroot = "";
const stock = new Map<string, BuildResult>();
const updateable = new Map<string, CompileResult>();
const key = (p: ExampleProgram, v: AnyExampleVersion) => `${p}/${v}`;

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), "graft-equiv-"));
  docroot = await makeDocroot();
  for (const program of ["kvd", "httpd"] as const) {
    for (const version of releasesOf(program)) {
      stock.set(key(program, version), await buildStock(exampleDir(program, version), path.join(workDir, "stock", program, version)));
      updateable.set(key(program, version), await compileExample(program, version, path.join(workDir, "graft", program, version)));
    }
  }
}, 240_000);

afterAll(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
  if (docroot) await rm(docroot, { recursive: true, force: true });
});

/** Runs body against a stock and an updateable server started the same way; stops both. */
async function withBoth<R>(
  start: (binary: string) => Promise<RunningServer>,
  program: ExampleProgram,
  version: AnyExampleVersion,
  body: (s: RunningServer, u: RunningServer) => Promise<R>,
): Promise<R> {
  const s = await start(stock.get(key(program, version))!.binary);
  let u: RunningServer | undefined;
  try {
    u = await start(updateable.get(key(program, version))!.executable);
    return await body(s, u);
  } finally {
    const es = await s.stop();
    const eu = u ? await u.stop() : { code: 0 };
    expect(es.code, s.stderr()).toBe(0);
    expect(eu.code, u?.stderr()).toBe(0);
  }
}

describe("builds", () => {
  it("every release of kvd and httpd builds stock and updateable", async () => {
    expect(stock.size).toBe(KVD_RELEASES.length + EXAMPLE_VERSIONS.length);
    expect(updateable.size).toBe(KVD_RELEASES.length + EXAMPLE_VERSIONS.length);
    for (const [name, u] of updateable) {
      expect(existsSync(stock.get(name)!.binary), name).toBe(true);
      expect(existsSync(u.executable), name).toBe(true);
      expect(u.versionData.digest, name).toMatch(/^[0-9a-f]{64}$/);
      expect(u.versionData.updatePoints.length, name).toBeGreaterThanOrEqual(1);
      // The stock build has nothing of Graft in it; the updateable one has the runtime.
      const s = (await execFileP("nm", [stock.get(name)!.binary], { maxBuffer: 64 << 20 })).stdout;
      const g = (await execFileP("nm", [u.executable], { maxBuffer: 64 << 20 })).stdout;
      expect(s, name).not.toMatch(/\bgrt_/);
      // ... and the runtime, shared, loaded from beside the executable.
      expect(g, name).toMatch(/\bgrt_update_point(_restart)?\b/);
      const dyn = (await execFileP("readelf", ["-d", u.executable])).stdout;
      expect(dyn, name).toMatch(/NEEDED.*\[libgraft\.so\.1\]/);
      expect(dyn, name).toMatch(/RUNPATH.*\[\$ORIGIN\]/);
    }
  });

  it("the updateable build opens a control socket; the stock one does not", async () => {
    await withBoth((bin) => startKvd(bin), "kvd", "v0", async (s, u) => {
      await waitForControlSocket(u.pid);
      expect(await controlRequest(u.pid, "status")).toMatch(new RegExp(`^ok program=kvd version=${updateable.get("kvd/v0")!.versionData.digest} sequence=0 `));
      await expect(controlRequest(s.pid, "status", 2000)).rejects.toThrow();
    });
  });
});

// =================================================================== kvd

/** Reads everything a connection receives until the server closes it. */
function transcript(port: number, script: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: "127.0.0.1" });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`transcript: the server did not close the connection (got ${Buffer.concat(chunks).length} bytes)`));
    }, 15_000);
    sock.on("connect", () => sock.write(script));
    sock.on("data", (d: Buffer) => chunks.push(d));
    sock.on("close", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    sock.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/**
 * Stats that differ between any two runs: process id, clock, connection fds
 * and peers (the updateable build holds one more descriptor, its control
 * socket). And `bytes`, kvd's memory accounting, which sums sizeof(struct
 * item) per item: a wrapped struct is larger by its version field and spare
 * room, checked exactly on its own.
 */
function maskVolatile(text: string): string {
  return text
    .replace(/^STAT bytes \d+\r$/gm, "STAT bytes <layout>\r")
    .replace(/^STAT (pid|uptime|time) \d+\r$/gm, "STAT $1 <volatile>\r")
    .replace(/^STAT \d+:/gm, "STAT <fd>:")
    .replace(/^STAT <fd>:addr .*\r$/gm, "STAT <fd>:addr <peer>\r")
    .replace(/^STAT <fd>:age \d+\r$/gm, "STAT <fd>:age <volatile>\r");
}

function kvdScript(): Buffer {
  const big = "B".repeat(200_000);
  const parts: string[] = [
    "version\r\n",
    "verbosity 1\r\n",
    "set a 5 0 5\r\nhello\r\n",
    "get a\r\n",
    "gets a\r\n",
    "get a missing a\r\n",
    "gets missing\r\n",
    "add a 0 0 1\r\nx\r\n",
    "add b 0 0 2\r\nbb\r\n",
    "replace c 0 0 1\r\nc\r\n",
    "replace b 1 0 3\r\nbbb\r\n",
    "append b 0 0 2\r\n++\r\n",
    "prepend b 0 0 2\r\n--\r\n",
    "append nokey 0 0 1\r\nx\r\n",
    "get b\r\n",
    "cas a 0 0 1 1\r\nA\r\n",
    "cas a 0 0 1 2\r\nA\r\n",
    "cas a 0 0 1 3\r\nA\r\n",
    "cas nokey 0 0 1 1\r\nA\r\n",
    "gets a b\r\n",
    "set n 0 0 2\r\n10\r\n",
    "incr n 5\r\n",
    "decr n 100\r\n",
    "incr n 18446744073709551615\r\n",
    "incr a 1\r\n",
    "incr nokey 1\r\n",
    "decr nokey 1\r\n",
    "incr n notanumber\r\n",
    "touch a 3600\r\n",
    "touch nokey 10\r\n",
    "delete b\r\n",
    "delete b\r\n",
    "set q 0 0 1 noreply\r\nq\r\n",
    "add q 0 0 1 noreply\r\nr\r\n",
    "incr n 1 noreply\r\n",
    "delete q noreply\r\n",
    "get q n\r\n",
    `set big 0 0 ${big.length}\r\n${big}\r\n`,
    "get big\r\n",
    "set bad 0 0 3\r\ntoolong\r\n",
    "set\r\n",
    "get\r\n",
    "bogus command\r\n",
    `get ${"k".repeat(300)}\r\n`,
    ...Array.from({ length: 40 }, (_, i) => `set key${i} ${i} 0 ${String(i).length}\r\n${i}\r\n`),
    `get ${Array.from({ length: 40 }, (_, i) => `key${i}`).join(" ")}\r\n`,
    "stats\r\n",
    "stats conns\r\n",
    "stats nonsense\r\n",
    "flush_all\r\n",
    "get a key1\r\n",
    "flush_all noreply\r\n",
    "stats\r\n",
    "quit\r\n",
  ];
  return Buffer.from(parts.join(""), "latin1");
}

describe.each(KVD_RELEASES)("kvd %s: stock and updateable builds agree", (version) => {
  const start = (bin: string) => startKvd(bin, { memoryMb: 64 });

  it(
    "memccapable: the same verdict for every test (all pass)",
    async () => {
      await withBoth(start, "kvd", version, async (s, u) => {
        const rs = await runMemcapable(s.port);
        const ru = await runMemcapable(u.port);
        expect(ru.byName).toEqual(rs.byName);
        expect(ru.tests.length).toBeGreaterThanOrEqual(27);
        expect(ru.failed, ru.stdout + ru.stderr).toBe(0);
        expect(ru.allPassed).toBe(rs.allPassed);
        expect(ru.exitCode).toBe(rs.exitCode);
      });
    },
    T,
  );

  it(
    "the same command sequence gives byte-identical replies (pid, uptime, time, connection fds aside)",
    async () => {
      await withBoth(start, "kvd", version, async (s, u) => {
        const script = kvdScript();
        const ts = await transcript(s.port, script);
        const tu = await transcript(u.port, script);
        expect(ts.length).toBeGreaterThan(200_000);
        // kvd counts sizeof(struct item) per item: the wrapper's overhead, exactly, per item held.
        const item = updateable.get(key("kvd", version))!.versionData.types.find((t) => t.key === "item")!;
        const overhead = item.wrapperSize! - item.versions[0].dataSize;
        const bytesOf = (t: Buffer) => [...t.toString("latin1").matchAll(/^STAT bytes (\d+)\r$/gm)].map((m) => Number(m[1]));
        const itemsOf = (t: Buffer) => [...t.toString("latin1").matchAll(/^STAT curr_items (\d+)\r$/gm)].map((m) => Number(m[1]));
        expect(bytesOf(tu)).toEqual(bytesOf(ts).map((b, i) => b + itemsOf(ts)[i] * overhead));
        expect(itemsOf(tu)[0]).toBeGreaterThan(40);
        const ms = maskVolatile(ts.toString("latin1"));
        const mu = maskVolatile(tu.toString("latin1"));
        // Compare line by line first, for a readable diff, then as a whole.
        expect(mu.split("\r\n")).toEqual(ms.split("\r\n"));
        expect(mu).toBe(ms);
        expect(mu).toContain(`VERSION ${KVD_VERSIONS[version]}\r\n`);
        // A second connection sees the state the first one left (the flush).
        const cs = await MemcacheClient.connect(s.port);
        const cu = await MemcacheClient.connect(u.port);
        expect(await cu.get("key1")).toBe(await cs.get("key1"));
        cs.close();
        cu.close();
      });
    },
    T,
  );

  it(
    "memcslap set and get loads run with zero errors against both",
    async () => {
      await withBoth(start, "kvd", version, async (s, u) => {
        for (const srv of [s, u]) {
          const set = await runMemslap(srv.port, { test: "set", concurrency: 4, executeNumber: 2000 });
          expect(set.failureLines, set.output).toEqual([]);
          expect(set.keys).toBe(8000);
          const get = await runMemslap(srv.port, { test: "get", concurrency: 4, executeNumber: 1000, initialLoad: 1000 });
          expect(get.failureLines, get.output).toEqual([]);
          expect(get.keys).toBe(4000);
          expect(get.exitCode).toBe(0);
        }
        const cs = await MemcacheClient.connect(s.port);
        const cu = await MemcacheClient.connect(u.port);
        const ss = await cs.stats();
        const su = await cu.stats();
        expect(su.cmd_set).toBe(ss.cmd_set);
        expect(su.cmd_get).toBe(ss.cmd_get);
        cs.close();
        cu.close();
      });
    },
    T,
  );
});

// ================================================================= httpd

interface CurlCase {
  method?: string;
  path: string;
  data?: string;
  headers?: Record<string, string>;
}

const HTTP_CASES: CurlCase[] = [
  { path: "/" },
  { path: "/static/hello.txt" },
  { path: "/static/page.html" },
  { path: "/static/data.json" },
  { path: "/static/big.bin" },
  { path: "/static/missing.txt" },
  { path: "/static/" },
  { path: "/nowhere" },
  { path: "/version" },
  { method: "POST", path: "/kv/alpha", data: "first value" },
  { method: "POST", path: "/kv/alpha", data: "second value" },
  { method: "POST", path: "/kv/beta", data: "x".repeat(10_000) },
  { path: "/kv/alpha" },
  { path: "/kv/beta" },
  { path: "/kv/missing" },
  { method: "POST", path: "/kv/", data: "no key" },
  { method: "PUT", path: "/kv/gamma", data: "put" },
  { method: "DELETE", path: "/kv/alpha" },
  { path: "/kv/alpha" },
  { method: "OPTIONS", path: "/" },
  { method: "BREW", path: "/" },
  { method: "POST", path: "/stats", data: "x" },
  { path: "/", headers: { "User-Agent": "equivalence-check/1.0" } },
  { path: "/stats" },
];

describe.each(EXAMPLE_VERSIONS)("httpd %s: stock and updateable builds agree", (version) => {
  const start = (bin: string) => startHttpd(bin, { docroot });

  it(
    "curl: the same status, headers (Date aside) and body for every request",
    async () => {
      await withBoth(start, "httpd", version, async (s, u) => {
        for (const c of HTTP_CASES) {
          const opts = { method: c.method, data: c.data, headers: c.headers };
          const rs = await curl(`http://127.0.0.1:${s.port}${c.path}`, opts);
          const ru = await curl(`http://127.0.0.1:${u.port}${c.path}`, opts);
          const what = `${c.method ?? "GET"} ${c.path}`;
          expect(rs.exitCode, `${what}: ${rs.stderr}`).toBe(0);
          expect(ru.exitCode, `${what}: ${ru.stderr}`).toBe(0);
          expect(ru.status, what).toBe(rs.status);
          const { date: ds, ...hs } = rs.headers;
          const { date: du, ...hu } = ru.headers;
          expect(hu, what).toEqual(hs);
          expect(typeof du).toBe(typeof ds);
          // /stats reports the uptime in seconds: both servers started within the same second or two.
          const mask = (b: string) => b.replace(/^uptime: \d+$/m, "uptime: <volatile>");
          expect(mask(ru.body), what).toBe(mask(rs.body));
        }
        const v = await curl(`http://127.0.0.1:${u.port}/version`);
        if (HTTPD_SERVER_NAMES[version]) expect(v.body.trim()).toBe(HTTPD_SERVER_NAMES[version]);
        else expect(v.status).toBe(404);
      });
    },
    T,
  );

  it(
    "wrk runs with zero errors against both",
    async () => {
      await withBoth(start, "httpd", version, async (s, u) => {
        for (const srv of [s, u]) {
          for (const p of ["/", "/static/big.bin"]) {
            const w = await runWrk(`http://127.0.0.1:${srv.port}${p}`, { threads: 2, connections: 16, durationSec: 1 });
            expect(w.totalErrors, w.output).toBe(0);
            expect(w.requests, w.output).toBeGreaterThan(50);
            expect(w.exitCode).toBe(0);
          }
        }
      });
    },
    T,
  );
});
