/**
 * How an updateable program gets its runtime: by default libgraft.so.1,
 * copied beside the executable and found through RUNPATH $ORIGIN; with
 * --static-runtime, linked in. Both serve and answer on the control socket;
 * rebuilding into the directory of a running program leaves it running.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { compileProgram } from "../../lib/compile/index.js";
import { LIBGRAFT_SO } from "../../lib/compile/toolchain.js";
import { EXAMPLE_CFLAGS, EXAMPLE_FILES, processStatus } from "../support/graft.js";
import { exampleDir } from "../support/build.js";
import { startKvd } from "../support/examples.js";
import { MemcacheClient } from "../support/memcache-client.js";
import type { RunningServer } from "../support/server.js";

const run = promisify(execFile);

let work = "";
let env: NodeJS.ProcessEnv = process.env;
const servers: RunningServer[] = [];

const build = (outDir: string, staticRuntime = false) =>
  compileProgram({ name: "kvd", files: EXAMPLE_FILES.kvd, outDir, cflags: [...EXAMPLE_CFLAGS], cwd: exampleDir("kvd", "v0"), insecureAcceptUnsigned: true, staticRuntime });

/** A started kvd answers memcached and `status` on its control socket. */
async function serves(exe: string): Promise<RunningServer> {
  const s = await startKvd(exe, { env });
  servers.push(s);
  const c = await MemcacheClient.connect(s.port);
  expect(await c.store("set", "k", "v")).toBe("STORED");
  const st = await processStatus(s.pid, env);
  expect(st.program).toBe("kvd");
  expect(st.pid).toBe(s.pid);
  return s;
}

describe("runtime linking", () => {
  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), "graft-rtlink-"));
    const rt = path.join(work, "rt");
    await mkdir(rt, { mode: 0o700 });
    env = { ...process.env, GRAFT_RUNTIME_DIR: rt };
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("shared: libgraft.so.1 beside the executable, found through $ORIGIN wherever the directory moves", async () => {
    const out = path.join(work, "shared");
    const r = await build(out);
    const copy = await readFile(path.join(out, "libgraft.so.1"));
    expect(copy.equals(await readFile(LIBGRAFT_SO))).toBe(true);
    const dyn = (await run("readelf", ["-d", r.executable])).stdout;
    expect(dyn).toMatch(/NEEDED.*\[libgraft\.so\.1\]/);
    expect(dyn).not.toMatch(/libsodium/);
    const moved = path.join(work, "deployed");
    await rename(out, moved);
    await serves(path.join(moved, "kvd"));
  }, 120_000);

  it("static: one file, the runtime inside, no libgraft.so.1 written", async () => {
    const out = path.join(work, "static");
    const r = await build(out, true);
    await expect(stat(path.join(out, "libgraft.so.1"))).rejects.toThrow();
    const dyn = (await run("readelf", ["-d", r.executable])).stdout;
    expect(dyn).not.toMatch(/libgraft/);
    expect((await run("nm", [r.executable])).stdout).toMatch(/ T grt_update_point\b/);
    await serves(r.executable);
  }, 120_000);

  it("rebuilding into the directory of a running program replaces the runtime without disturbing it", async () => {
    const out = path.join(work, "rebuilt");
    const r = await build(out);
    const s = await serves(r.executable);
    // Stand-in for the runtime of an older build (the running process keeps the inode it mapped): a rebuild must
    // replace this file by a rename, a new inode, not write into it, or a program mapping it would crash.
    const so = path.join(out, "libgraft.so.1");
    await writeFile(`${so}.old`, "an older runtime");
    await rename(`${so}.old`, so);
    const older = (await stat(so)).ino;
    await build(out);
    expect((await stat(so)).ino).not.toBe(older);
    expect((await readFile(so)).equals(await readFile(LIBGRAFT_SO))).toBe(true);
    const c = await MemcacheClient.connect(s.port);
    expect(await c.command("get k")).toContain("VALUE k");
    expect((await processStatus(s.pid, env)).pid).toBe(s.pid);
  }, 120_000);
});
