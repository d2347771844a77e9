/**
 * The example programs (native/examples): every release of kvd and httpd
 * builds stock with plain gcc, warning-free, works with the real clients
 * (memcapable, memslap, curl, wrk), and tells clients which release it is.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  buildStock,
  curl,
  DOCROOT_FILES,
  EXAMPLE_VERSIONS,
  exampleDir,
  KVD_RELEASES,
  releasesOf,
  HTTPD_SERVER_NAMES,
  HttpConnection,
  httpRequest,
  KVD_VERSIONS,
  makeDocroot,
  missingTools,
  parseCurlOutput,
  parseMemcapable,
  parseMemslap,
  parseWrk,
  MemcacheClient,
  runMemcapable,
  runMemslap,
  runWrk,
  startHttpd,
  startKvd,
  versionFromIdentity,
  type BuildResult,
  type ExampleProgram,
  type AnyExampleVersion,
  type KvdVersion,
  type RunningServer,
} from "../support/index.js";

const T = 60_000;

/** The ascii tests memcapable 1.1 runs with -a; all must pass on every kvd. */
const MEMCAPABLE_ASCII_TESTS = [
  "ascii version",
  "ascii quit",
  "ascii verbosity",
  "ascii set",
  "ascii set noreply",
  "ascii get",
  "ascii gets",
  "ascii mget",
  "ascii flush",
  "ascii flush noreply",
  "ascii add",
  "ascii add noreply",
  "ascii replace",
  "ascii replace noreply",
  "ascii cas",
  "ascii cas noreply",
  "ascii delete",
  "ascii delete noreply",
  "ascii incr",
  "ascii incr noreply",
  "ascii decr",
  "ascii decr noreply",
  "ascii append",
  "ascii append noreply",
  "ascii prepend",
  "ascii prepend noreply",
  "ascii stat",
];

let workDir = "";
const builds = new Map<string, BuildResult>();

/** Whether kvd release `v` is `min` or later. */
const since = (v: KvdVersion, min: KvdVersion) => KVD_RELEASES.indexOf(v) >= KVD_RELEASES.indexOf(min);

function binary(program: ExampleProgram, version: AnyExampleVersion): string {
  const b = builds.get(`${program}/${version}`);
  if (!b) throw new Error(`${program}/${version} was not built`);
  return b.binary;
}

async function withServer<R>(start: () => Promise<RunningServer>, body: (srv: RunningServer) => Promise<R>): Promise<R> {
  const srv = await start();
  try {
    return await body(srv);
  } finally {
    const exit = await srv.stop();
    // A clean SIGTERM shutdown: exit code 0, not killed; no sanitizer reports.
    expect(exit.code, `server stderr:\n${srv.stderr()}`).toBe(0);
    expect(srv.stderr()).not.toMatch(/AddressSanitizer|LeakSanitizer|runtime error:/);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * For about `ms`, send SIGHUP every 20 ms (a handler without SA_RESTART, so
 * poll() and friends fail with EINTR) and now and then SIGSTOP + SIGCONT.
 */
async function interruptRepeatedly(pid: number, ms: number): Promise<number> {
  const end = Date.now() + ms;
  let sent = 0;
  while (Date.now() < end) {
    await sleep(20);
    process.kill(pid, "SIGHUP");
    sent++;
    if (sent % 25 === 0) {
      process.kill(pid, "SIGSTOP");
      await sleep(30);
      process.kill(pid, "SIGCONT");
    }
  }
  return sent;
}

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), "graft-examples-"));
  for (const program of ["kvd", "httpd"] as const) {
    for (const version of releasesOf(program)) {
      const out = path.join(workDir, program, version);
      // EXAMPLES_CFLAGS, e.g. "-O1 -g -fsanitize=address,undefined", replaces -O2 -g.
      const cflags = process.env.EXAMPLES_CFLAGS;
      builds.set(`${program}/${version}`, await buildStock(exampleDir(program, version), out, { cflags }));
    }
  }
}, 180_000);

afterAll(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe("client output parsers", () => {
  it("read memcapable's pass, skip and FAIL lines (FAIL goes to stderr)", () => {
    const pad = (n: string) => n.padEnd(40);
    const out = `${pad("ascii version")}[pass]\n${pad("ascii quit")}${pad("ascii set")}[skip]\n${pad("ascii stat")}`;
    expect(parseMemcapable(out)).toEqual([
      { name: "ascii version", status: "pass" },
      { name: "ascii quit", status: "fail" },
      { name: "ascii set", status: "skip" },
      { name: "ascii stat", status: "fail" },
    ]);
  });

  it("read wrk's counts, socket errors and latency distribution", () => {
    const out = [
      "Running 2s test @ http://127.0.0.1:1/",
      "  2 threads and 16 connections",
      "  Thread Stats   Avg      Stdev     Max   +/- Stdev",
      "    Latency   462.33us  305.84us   5.64ms   89.80%",
      "  Latency Distribution",
      "     50%  447.00us",
      "     75%  539.00us",
      "     90%  684.00us",
      "     99%    1.79ms",
      "  105413 requests in 3.00s, 15.48MB read",
      "  Socket errors: connect 1, read 2, write 3, timeout 4",
      "  Non-2xx or 3xx responses: 5",
      "Requests/sec:  35105.88",
    ].join("\n");
    const r = parseWrk(out);
    expect(r.requests).toBe(105413);
    expect(r.durationSec).toBe(3);
    expect(r.errors).toEqual({ connect: 1, read: 2, write: 3, timeout: 4, status: 5 });
    expect(r.totalErrors).toBe(15);
    expect(r.latencyMs.p50).toBeCloseTo(0.447);
    expect(r.latencyMs.p99).toBeCloseTo(1.79);
    expect(r.latencyAvgMs).toBeCloseTo(0.46233);
    expect(r.requestsPerSec).toBeCloseTo(35105.88);
  });

  it("read memslap's timings and failure lines", () => {
    const out = [
      "Time to set            2000 keys:                     0.177 seconds.",
      "execute.cc:72 Failure on read(A TIMEOUT OCCURRED) of abc",
      "Time to get           8000 keys by    4 threads:     0.437 seconds.",
    ].join("\n");
    const r = parseMemslap(out, "get");
    expect(r).toMatchObject({ keys: 8000, threads: 4, seconds: 0.437, loaded: 2000, failures: 1 });
  });

  it("read curl -i output, skipping 1xx responses", () => {
    const raw = Buffer.from("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nServer: x\r\nContent-Length: 2\r\n\r\nok");
    expect(parseCurlOutput(raw)).toEqual({ status: 201, headers: { server: "x", "content-length": "2" }, body: "ok" });
  });
});

describe("builds", () => {
  it("the client tools are installed (Debian: libmemcached-tools, wrk, curl)", () => {
    expect(missingTools()).toEqual([]);
  });

  it("every release of both programs builds with gcc -Wall -Wextra and no warnings", () => {
    expect(builds.size).toBe(KVD_RELEASES.length + EXAMPLE_VERSIONS.length);
    for (const [name, b] of builds) {
      expect(b.log, name).not.toMatch(/warning:|error:/);
    }
  });
});

describe.each(KVD_RELEASES)("kvd %s", (version) => {
  const start = (opts: { memoryMb?: number } = {}) => startKvd(binary("kvd", version), opts);

  it(
    "passes every memcapable ascii test",
    async () => {
      await withServer(start, async (srv) => {
        const r = await runMemcapable(srv.port);
        expect(r.tests.map((t) => t.name)).toEqual(MEMCAPABLE_ASCII_TESTS);
        expect(r.failed, r.stdout + r.stderr).toBe(0);
        expect(r.passed).toBe(MEMCAPABLE_ASCII_TESTS.length);
        expect(r.allPassed).toBe(true);
        expect(r.exitCode).toBe(0);
      });
    },
    T,
  );

  it(
    "runs memslap set, get and mget loads with zero failures",
    async () => {
      await withServer(start, async (srv) => {
        const set = await runMemslap(srv.port, { test: "set", concurrency: 4, executeNumber: 5000 });
        expect(set.failureLines, set.output).toEqual([]);
        expect(set.keys).toBe(20_000);
        expect(set.threads).toBe(4);

        const get = await runMemslap(srv.port, { test: "get", concurrency: 4, executeNumber: 2000, initialLoad: 2000 });
        expect(get.failureLines, get.output).toEqual([]);
        expect(get.loaded).toBe(2000);
        expect(get.keys).toBe(8000);

        const mget = await runMemslap(srv.port, { test: "mget", concurrency: 2, executeNumber: 1000, initialLoad: 1000 });
        expect(mget.failureLines, mget.output).toEqual([]);
        expect(mget.exitCode).toBe(0);

        const c = await MemcacheClient.connect(srv.port);
        const stats = await c.stats();
        // 20000 sets + 2000 preload + 1000 preload
        expect(Number(stats.cmd_set)).toBe(23_000);
        expect(Number(stats.get_hits)).toBeGreaterThanOrEqual(8000);
        c.close();
      });
    },
    T,
  );

  it(
    "answers the text protocol exactly",
    async () => {
      await withServer(start, async (srv) => {
        const c = await MemcacheClient.connect(srv.port);
        expect(await c.version()).toBe(KVD_VERSIONS[version]);
        expect(await c.set("k", "hello", { flags: 42 })).toBe("STORED");
        expect(await c.retrieve("get", ["k", "missing"])).toMatchObject([{ key: "k", flags: 42, value: "hello" }]);
        const g = await c.gets("k");
        expect(g?.cas).toBeTypeOf("bigint");
        expect(await c.cas("k", "world", g!.cas!)).toBe("STORED");
        expect(await c.cas("k", "again", g!.cas!)).toBe("EXISTS");
        expect(await c.cas("nokey", "x", 1n)).toBe("NOT_FOUND");
        expect(await c.append("k", "!")).toBe("STORED");
        expect(await c.prepend("k", ">")).toBe("STORED");
        expect(await c.get("k")).toBe(">world!");
        expect(await c.add("k", "x")).toBe("NOT_STORED");
        expect(await c.replace("nokey", "x")).toBe("NOT_STORED");
        expect(await c.set("n", "18446744073709551615")).toBe("STORED");
        expect(await c.incr("n", 2)).toBe("1"); // wraps at 2^64
        expect(await c.decr("n", 5)).toBe("0"); // floors at 0
        expect(await c.incr("k", 1)).toBe("CLIENT_ERROR cannot increment or decrement non-numeric value");
        expect(await c.command("incr n x")).toBe("CLIENT_ERROR invalid numeric delta argument");
        expect(await c.incr("nokey", 1)).toBe("NOT_FOUND");
        expect(await c.touch("k", 100)).toBe("TOUCHED");
        expect(await c.touch("nokey", 100)).toBe("NOT_FOUND");
        expect(await c.delete("k")).toBe("DELETED");
        expect(await c.delete("k")).toBe("NOT_FOUND");
        expect(await c.command("bogus")).toBe("ERROR");
        expect(await c.command(`get ${"x".repeat(251)}`)).toBe("CLIENT_ERROR bad command line format");
        expect(await c.command("set big 0 0 2000000")).toBe("SERVER_ERROR object too large for cache");
        await c.send(`${"y".repeat(2_000_000)}\r\n`);
        expect(await c.version()).toBe(KVD_VERSIONS[version]);
        // negative exptime: stored already expired
        expect(await c.set("gone", "x", { exptime: -1 })).toBe("STORED");
        expect(await c.get("gone")).toBeNull();
        // pipelining: several commands in one write
        await c.send("set p1 0 0 1\r\na\r\nset p2 0 0 1 noreply\r\nb\r\nget p1 p2\r\n");
        for (const line of ["STORED", "VALUE p1 0 1", "a", "VALUE p2 0 1", "b", "END"]) {
          expect(await c.readLine()).toBe(line);
        }
        // one get naming 1500 keys (a 70 KB line, as libmemcached's mget sends)
        const many = Array.from({ length: 1500 }, (_, i) => `many_${i}_${"k".repeat(40)}`);
        for (const k of many) await c.set(k, k.slice(0, 9), { noreply: true });
        const vals = await c.retrieve("get", [...many, "not_there"]);
        expect(vals.length).toBe(1500);
        expect(vals[1499]).toMatchObject({ key: many[1499], value: "many_1499" });
        expect(await c.flushAll()).toBe("OK");
        expect(await c.get("p1")).toBeNull();
        c.close();

        const d = await MemcacheClient.connect(srv.port);
        expect(await d.quit()).toBe(true);
      });
    },
    T,
  );

  it(
    "keeps serving while signals interrupt it (SIGHUP status lines, SIGSTOP/SIGCONT)",
    async () => {
      await withServer(start, async (srv) => {
        const load = runMemslap(srv.port, { test: "set", concurrency: 2, executeNumber: 20_000 });
        await interruptRepeatedly(srv.pid, 1500);
        const r = await load;
        expect(r.failureLines, r.output).toEqual([]);
        expect(r.keys).toBe(40_000);
        expect(srv.stderr()).toMatch(/^kvd: \d+ connections, \d+ items, \d+ bytes, \d+ evictions$/m);
        const c = await MemcacheClient.connect(srv.port);
        expect(await c.version()).toBe(KVD_VERSIONS[version]);
        c.close();
      });
    },
    T,
  );

  it(
    "evicts least recently used items under its memory limit (-m)",
    async () => {
      await withServer(
        () => start({ memoryMb: 1 }),
        async (srv) => {
          const c = await MemcacheClient.connect(srv.port);
          const value = "v".repeat(1000);
          for (let i = 0; i < 3000; i++) await c.set(`key${i}`, value, { noreply: true });
          expect(await c.set("last", "x")).toBe("STORED");
          const s = await c.stats();
          expect(Number(s.evictions)).toBeGreaterThan(1000);
          expect(Number(s.bytes)).toBeLessThanOrEqual(1024 * 1024);
          expect(Number(s.limit_maxbytes)).toBe(1024 * 1024);
          expect(await c.get("key0")).toBeNull();
          expect(await c.get("key2999")).toBe(value);
          c.close();
        },
      );
    },
    T,
  );

  it(
    "keeps the statistics this release is documented to keep",
    async () => {
      await withServer(start, async (srv) => {
        const c = await MemcacheClient.connect(srv.port);
        expect(await c.gets("nokey")).toBeNull();
        expect(await c.touch("nokey", 10)).toBe("NOT_FOUND");
        const s = await c.stats();
        expect(s.version).toBe(KVD_VERSIONS[version]);
        if (version === "v0") {
          // v0 bugs: gets misses and touch commands go uncounted
          expect(s.get_misses).toBe("0");
          expect(s.cmd_touch).toBe("0");
          expect(s.reclaimed).toBeUndefined();
        } else {
          expect(s.get_misses).toBe("1");
          expect(s.cmd_touch).toBe("1");
          expect(s.reclaimed).toBe("0");
          expect(s.stats_calls).toBe("1");
          expect((await c.stats()).stats_calls).toBe("2");
        }
        if (since(version, "v2")) {
          expect(s.expired_swept).toBe("0");
          const conns = await c.stats("conns");
          const addrs = Object.keys(conns).filter((k) => k.endsWith(":addr"));
          expect(addrs.length).toBe(1);
          expect(conns[addrs[0]]).toMatch(/^127\.0\.0\.1:\d+$/);
          const fd = addrs[0].split(":")[0];
          expect(conns[`${fd}:cmd_get`]).toBe("1");
          expect(conns[`${fd}:cmd_touch`]).toBe("1");
          if (since(version, "v3")) {
            // Every byte this connection sent so far: gets, touch, stats, stats conns.
            const sent = "gets nokey\r\n".length + "touch nokey 10\r\n".length + "stats\r\n".length * 2 + "stats conns\r\n".length;
            expect(conns[`${fd}:bytes_in`]).toBe(String(sent));
            expect(Number(conns[`${fd}:bytes_out`])).toBeGreaterThan(0);
          } else {
            expect(conns[`${fd}:bytes_in`]).toBeUndefined();
          }
        } else {
          expect(s.expired_swept).toBeUndefined();
          expect(await c.command("stats conns")).toBe("ERROR");
        }
        c.close();
      });
    },
    T,
  );

  it(
    "drops expired items (v2 also in the background)",
    async () => {
      await withServer(start, async (srv) => {
        const c = await MemcacheClient.connect(srv.port);
        expect(await c.set("short", "x", { exptime: 1 })).toBe("STORED");
        expect(await c.set("keep", "y")).toBe("STORED");
        expect(await c.get("short")).toBe("x");
        await sleep(2600);
        let s = await c.stats();
        if (since(version, "v2")) {
          // freed by the sweep in the event loop, without a lookup
          expect(s.expired_swept).toBe("1");
          expect(s.curr_items).toBe("1");
        } else {
          expect(s.curr_items).toBe("2");
        }
        expect(await c.get("short")).toBeNull();
        s = await c.stats();
        expect(s.curr_items).toBe("1");
        if (version !== "v0") expect(s.reclaimed).toBe(version === "v1" ? "1" : "0");
        c.close();
      });
    },
    T,
  );
});

describe.each(EXAMPLE_VERSIONS)("httpd %s", (version) => {
  let docroot = "";
  const start = (opts: { idleTimeoutSec?: number } = {}) =>
    startHttpd(binary("httpd", version), { docroot, ...opts });
  const serverName = HTTPD_SERVER_NAMES[version];

  beforeAll(async () => {
    docroot = await makeDocroot();
  });
  afterAll(async () => {
    await rm(docroot, { recursive: true, force: true });
  });

  it(
    "serves /, static files, 404s and the key/value table to curl",
    async () => {
      await withServer(start, async (srv) => {
        const base = `http://127.0.0.1:${srv.port}`;
        const index = await curl(`${base}/`);
        expect(index.exitCode).toBe(0);
        expect(index.status).toBe(200);
        expect(index.headers["content-type"]).toMatch(/^text\/html/);
        expect(index.body).toContain("<h1>httpd</h1>");
        expect(Number(index.headers["content-length"])).toBe(Buffer.byteLength(index.body));
        expect(index.headers["server"]).toBe(serverName ?? undefined);

        for (const [name, content] of Object.entries(DOCROOT_FILES)) {
          const r = await curl(`${base}/static/${name}`);
          expect(r.status, name).toBe(200);
          expect(r.body, name).toBe(content);
          expect(Number(r.headers["content-length"]), name).toBe(Buffer.byteLength(content));
        }
        expect((await curl(`${base}/static/hello.txt`)).headers["content-type"]).toMatch(/^text\/plain/);
        expect((await curl(`${base}/static/data.json`)).headers["content-type"]).toBe("application/json");
        expect((await curl(`${base}/static/nope.txt`)).status).toBe(404);
        expect((await curl(`${base}/static/%2e%2e/%2e%2e/etc/passwd`)).status).toBe(404);
        expect((await curl(`${base}/nothing/here`)).status).toBe(404);

        expect((await curl(`${base}/kv/color`)).status).toBe(404);
        const put = await curl(`${base}/kv/color`, { method: "POST", data: "blue" });
        expect(put.status).toBe(201);
        expect((await curl(`${base}/kv/color`, { method: "POST", data: "green\r\nand more" })).status).toBe(200);
        const got = await curl(`${base}/kv/color`);
        expect(got.status).toBe(200);
        expect(got.body).toBe("green\r\nand more");

        const stats = await curl(`${base}/stats`);
        expect(stats.status).toBe(200);
        expect(stats.headers["content-type"]).toMatch(/^text\/plain/);
        expect(stats.body).toMatch(/^kv_keys: 1$/m);

        const ver = await curl(`${base}/version`);
        if (serverName === null) {
          expect(ver.status).toBe(404);
        } else {
          expect(ver.status).toBe(200);
          expect(ver.body.trim()).toBe(serverName);
        }
        const del = await curl(`${base}/kv/color`, { method: "DELETE" });
        if (version === "v2") {
          expect(del.status).toBe(200);
          expect(del.body).toBe("deleted\n");
          expect((await curl(`${base}/kv/color`)).status).toBe(404);
        } else {
          expect(del.status).toBe(405);
          if (version === "v1") expect(del.headers["allow"]).toBe("GET, POST");
        }
      });
    },
    T,
  );

  it(
    "keeps connections alive, answers pipelined requests, and counts requests as documented",
    async () => {
      await withServer(start, async (srv) => {
        const conn = await HttpConnection.connect(srv.port);
        for (let i = 0; i < 3; i++) {
          const r = await conn.request({ path: "/", headers: { "User-Agent": "examples-test/1" } });
          expect(r.status).toBe(200);
          expect(r.headers["connection"]).toBe("keep-alive");
        }
        const stats = await conn.request({ path: "/stats" });
        const requests = Number(/^requests: (\d+)$/m.exec(stats.text)?.[1]);
        const connections = Number(/^connections_total: (\d+)$/m.exec(stats.text)?.[1]);
        // (startServer's readiness probe was one connection without a request)
        expect(connections).toBe(2);
        // v0 counted connections, not requests
        expect(requests).toBe(version === "v0" ? connections : 4);
        if (version !== "v0") {
          expect(stats.text).toMatch(/^last_user_agent: examples-test\/1$/m);
          expect(stats.headers["cache-control"]).toBe("no-store");
        }

        // two requests in one write, then a POST with a body
        await conn.sendRaw("GET /static/hello.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
        const a = await conn.readResponse();
        const b = await conn.readResponse();
        expect(a.status).toBe(200);
        expect(a.text).toBe(DOCROOT_FILES["hello.txt"]);
        expect(b.status).toBe(404);
        const post = await conn.request({ method: "POST", path: "/kv/bin", body: Buffer.from([0, 1, 2, 255]) });
        expect(post.status).toBe(201);
        const bin = await conn.request({ path: "/kv/bin" });
        expect([...bin.body]).toEqual([0, 1, 2, 255]);

        // Connection: close is honoured
        const last = await conn.request({ path: "/", headers: { Connection: "close" } });
        expect(last.headers["connection"]).toBe("close");
        expect(await conn.waitClosed(2000)).toBe(true);

        // HTTP/1.0 without keep-alive closes too; a malformed request gets 400 and a close
        const c10 = await HttpConnection.connect(srv.port);
        await c10.sendRaw("GET / HTTP/1.0\r\n\r\n");
        expect((await c10.readResponse()).status).toBe(200);
        expect(await c10.waitClosed(2000)).toBe(true);
        const bad = await HttpConnection.connect(srv.port);
        await bad.sendRaw("NONSENSE\r\n\r\n");
        expect((await bad.readResponse()).status).toBe(400);
        expect(await bad.waitClosed(2000)).toBe(true);
      });
    },
    T,
  );

  it(
    "serves wrk load with zero errors",
    async () => {
      await withServer(start, async (srv) => {
        const base = `http://127.0.0.1:${srv.port}`;
        const stat = await runWrk(`${base}/static/hello.txt`, { threads: 2, connections: 16, durationSec: 2 });
        expect(stat.totalErrors, stat.output).toBe(0);
        expect(stat.requests).toBeGreaterThan(1000);
        expect(stat.latencyMs.p99).not.toBeNull();

        const script = path.join(docroot, "..", `post-${path.basename(docroot)}.lua`);
        await writeFile(script, 'wrk.method = "POST"\nwrk.body = "payload"\nwrk.headers["Content-Type"] = "text/plain"\n');
        try {
          const post = await runWrk(`${base}/kv/bench`, { threads: 2, connections: 8, durationSec: 2, script });
          expect(post.totalErrors, post.output).toBe(0);
          expect(post.requests).toBeGreaterThan(1000);
        } finally {
          await rm(script, { force: true });
        }
        expect((await httpRequest(srv.port, { path: "/kv/bench" })).text).toBe("payload");
      });
    },
    T,
  );

  it(
    "keeps serving while signals interrupt it (SIGHUP status lines, SIGSTOP/SIGCONT)",
    async () => {
      await withServer(start, async (srv) => {
        const load = runWrk(`http://127.0.0.1:${srv.port}/`, {
          threads: 1,
          connections: 4,
          durationSec: 3,
          requestTimeoutSec: 5,
        });
        await interruptRepeatedly(srv.pid, 2500);
        const r = await load;
        expect(r.totalErrors, r.output).toBe(0);
        expect(r.requests).toBeGreaterThan(1000);
        expect((await httpRequest(srv.port, { path: "/" })).status).toBe(200);
        expect(srv.stderr()).toMatch(/^httpd: \d+ connections, \d+ requests, \d+ keys$/m);
      });
    },
    T,
  );

  if (version === "v2") {
    it(
      "closes idle keep-alive connections after -t seconds",
      async () => {
        await withServer(
          () => start({ idleTimeoutSec: 1 }),
          async (srv) => {
            const conn = await HttpConnection.connect(srv.port);
            expect((await conn.request({ path: "/" })).status).toBe(200);
            expect(await conn.waitClosed(4000)).toBe(true);
            const stats = await httpRequest(srv.port, { path: "/stats" });
            expect(stats.text).toMatch(/^idle_closed: 1$/m);
          },
        );
      },
      T,
    );
  }
});

describe("releases are distinguishable", () => {
  it(
    "each kvd release reports its own version",
    async () => {
      const seen: string[] = [];
      for (const version of KVD_RELEASES) {
        await withServer(
          () => startKvd(binary("kvd", version)),
          async (srv) => {
            const c = await MemcacheClient.connect(srv.port);
            const v = await c.version();
            c.close();
            expect(versionFromIdentity("kvd", v)).toBe(version);
            seen.push(v);
          },
        );
      }
      expect(new Set(seen).size).toBe(KVD_RELEASES.length);
    },
    T,
  );

  it(
    "each httpd release identifies itself through Server: and /version",
    async () => {
      const docroot = await makeDocroot();
      try {
        const seen: string[] = [];
        for (const version of EXAMPLE_VERSIONS) {
          await withServer(
            () => startHttpd(binary("httpd", version), { docroot }),
            async (srv) => {
              const r = await httpRequest(srv.port, { path: "/version" });
              const identity = r.status === 200 ? r.text.trim() : null;
              expect(r.headers["server"] ?? null).toBe(identity);
              expect(versionFromIdentity("httpd", identity)).toBe(version);
              seen.push(String(identity));
            },
          );
        }
        expect(new Set(seen).size).toBe(3);
      } finally {
        await rm(docroot, { recursive: true, force: true });
      }
    },
    T,
  );
});
