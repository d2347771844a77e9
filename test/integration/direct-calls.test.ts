/**
 * Direct calls (lib/compile/direct-calls.ts): static helpers nobody takes the
 * address of are called without a slot, so gcc inlines them as in the stock
 * build; a patch that changes one replaces its callers, and the running
 * program answers with the new code; a new version that would need a slot for
 * such a function is refused with file, line and reason.
 */
import { libcExports } from "../../lib/compile/toolchain.js";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { compileProgram, type CompileResult } from "../../lib/compile/index.js";
import { chooseDirectFunctions } from "../../lib/compile/direct-calls.js";
import { parseProgram } from "../../lib/cfront/program.js";
import { collectFacts } from "../../lib/analysis/facts.js";
import { generatePatch } from "../../lib/patch/index.js";
import { GraftError } from "../../lib/model/diagnostics.js";
import { GRAFT_INCLUDE_DIR } from "../support/build.js";
import { applyPatch, FIXTURES_DIR, waitForControlSocket } from "../support/graft.js";

const run = promisify(execFile);
const CFLAGS = ["-O2", "-std=c11", "-D_POSIX_C_SOURCE=200809L", `-I${GRAFT_INCLUDE_DIR}`];
const fixture = (f: string) => path.join(FIXTURES_DIR, "direct", f);

let work = "";
let v0: CompileResult;
const procs: ChildProcessWithoutNullStreams[] = [];

/** Every version is staged as ask.c: statics are named after their file. */
async function stage(version: string): Promise<string> {
  const dir = path.join(work, version);
  await mkdir(dir, { recursive: true });
  await copyFile(fixture(`${version}.c`), path.join(dir, "ask.c"));
  return dir;
}

const patchTo = async (version: string) =>
  generatePatch({ from: path.join(work, "out0"), files: ["ask.c"], outDir: path.join(work, `patch-${version}`), cflags: CFLAGS, cwd: await stage(version) });

describe("direct calls", () => {
  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), "graft-direct-"));
    v0 = await compileProgram({ name: "ask", files: ["ask.c"], outDir: path.join(work, "out0"), cflags: CFLAGS, cwd: await stage("v0"), insecureAcceptUnsigned: true });
  }, 60_000);
  afterAll(async () => {
    for (const p of procs) p.kill("SIGKILL");
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("calls static helpers without a slot, and keeps slots for the loop body", async () => {
    const fn = (name: string) => v0.versionData.functions.find((f) => f.name === name)!;
    expect(fn("scale")).toMatchObject({ direct: true, slot: "" });
    expect(fn("handle")).toMatchObject({ direct: true, slot: "" });
    expect(fn("main__loop1").direct).toBeUndefined();
    expect(fn("main__loop1").slot).not.toBe("");
    // Patches bind slots by their index in the executable's table: the table lists the loop body's, no helper's.
    expect(v0.versionData.exeSymbols).toContain(fn("main__loop1").slot);
    expect(v0.versionData.exeSymbols?.join(" ")).not.toMatch(/__graft_fp_\w*(scale|handle)\b/);
    const { stdout } = await run("nm", ["--defined-only", v0.executable]);
    expect(stdout).toMatch(/__graft_fp_\w*main__loop1/);
    expect(stdout).not.toMatch(/__graft_fp_\w*(scale|handle)\b/);
  });

  it("a change to a direct function replaces its callers, and the running program answers with it", async () => {
    const p1 = await patchTo("v1-scale");
    const status = Object.fromEntries(p1.manifest.functions.map((f) => [f.name, f.status]));
    expect(status).toMatchObject({ scale: "changed", handle: "caller", main__loop1: "caller" });

    const runtimeDir = path.join(work, "rt");
    await mkdir(runtimeDir, { recursive: true, mode: 0o700 });
    const env = { ...process.env, GRAFT_RUNTIME_DIR: runtimeDir };
    const proc = spawn(v0.executable, [], { env });
    procs.push(proc);
    const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
    const ask = async (n: number) => {
      proc.stdin.write(`ASK ${n}\n`);
      return (await lines.next()).value as string;
    };
    await waitForControlSocket(proc.pid!, 5000, env);
    expect(await ask(5)).toBe("answer 10");
    const r = await applyPatch(proc.pid!, p1.patchDir, 10_000, env);
    expect(r.ok, r.line).toBe(true);
    expect(await ask(5)).toBe("answer 15");
    expect(await ask(7)).toBe("answer 21");
  }, 60_000);

  it("keeps slots for what a frame that outlives an update calls: jobq's score(), called after the point inside process()", async () => {
    const dir = path.join(work, "jobq");
    await mkdir(dir, { recursive: true });
    await copyFile(path.join(FIXTURES_DIR, "safety", "jobq", "v0.c"), path.join(dir, "jobq.c"));
    const program = await parseProgram({ files: ["jobq.c"], cflags: CFLAGS, cwd: dir, workDir: path.join(dir, "parse") });
    const direct = chooseDirectFunctions(program, collectFacts(program, await libcExports()));
    // process() holds an update point in the middle of a job and calls score() after it: a body-only patch
    // to score() must reach that frame, so score() keeps its slot, and so does everything process() calls.
    expect([...direct].filter((u) => /score|process|work_for/.test(u))).toEqual([]);
  }, 60_000);

  it("a new version that takes a direct function's address is refused, naming the function and why", async () => {
    const err = await patchTo("v2-address").then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(GraftError);
    const d = (err as GraftError).diagnostics.find((x) => x.code === 4004);
    expect(d, JSON.stringify((err as GraftError).diagnostics)).toBeDefined();
    expect(d!.file).toBe("ask.c");
    expect(d!.line).toBeGreaterThan(0);
    expect(d!.message).toMatch(/scale\(\).*its address is taken/);
  }, 60_000);
});
