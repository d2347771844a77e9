/**
 * Where the lazy version checks are: code compiled for a type's first layout
 * has none (it can never meet older or newer data, docs/updateable-build.md),
 * patch code for a type that changed has them, and the running program still
 * transforms old values at their first use by the new code.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileExample, patchExample } from "../support/graft.js";
import type { CompileResult } from "../../lib/compile/index.js";
import type { PatchResult } from "../../lib/patch/index.js";

const run = promisify(execFile);

/** Call sites of grt_con_slow in a file's code, counted from its disassembly. */
async function checkCalls(file: string): Promise<number> {
  const { stdout } = await run("objdump", ["-d", "--no-show-raw-insn", file], { maxBuffer: 64 << 20 });
  return stdout.split("\n").filter((l) => /\bcall\b.*<grt_con_slow(@plt)?>/.test(l)).length;
}

describe("version checks", () => {
  let dir: string;
  let build: CompileResult;
  let patch: PatchResult;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "graft-checks-"));
    build = await compileExample("kvd", "v0", path.join(dir, "v0"));
    patch = await patchExample("kvd", path.join(dir, "v0"), "v1", path.join(dir, "v1"));
  }, 120_000);
  afterAll(async () => { if (dir) await rm(dir, { recursive: true, force: true }); });

  it("the first build accesses its wrapped types without a check; the runtime beside it has the slow path for patches", async () => {
    const wrapped = build.versionData.types.filter((t) => t.wrapped).map((t) => t.key);
    expect(wrapped).toContain("item");
    expect(await checkCalls(build.executable)).toBe(0);
    const { stdout } = await run("nm", ["-D", "--defined-only", path.join(path.dirname(build.executable), "libgraft.so.1")]);
    expect(stdout).toMatch(/\bgrt_con_slow\b/);
  });

  it("patch code checks the types the patch changes", async () => {
    const changed = patch.manifest.types.filter((t) => t.status === "changed").map((t) => t.key);
    expect(changed).toContain("item");
    expect(await checkCalls(path.join(patch.patchDir, "patch.so"))).toBeGreaterThan(0);
  });
});
