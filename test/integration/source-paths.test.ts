/**
 * Versions built from their paths as given on the command line
 * (`graft compile native/examples/kvd/v0/*.c`, then `graft patch ... v1/*.c`
 * from the same working directory): statics must keep their names, or a patch
 * would give them new storage and lose their state.
 */
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { compileProgram } from "../../lib/compile/index.js";
import { generatePatch } from "../../lib/patch/index.js";
import { EXAMPLE_CFLAGS, EXAMPLE_FILES } from "../support/graft.js";
import { REPO_ROOT } from "../support/build.js";

describe("sources named by paths from another directory", () => {
  it("patch v0 -> v1 keeps every static of kvd as it was", async () => {
    const work = await mkdtemp(path.join(os.tmpdir(), "graft-paths-"));
    const files = (v: string) => EXAMPLE_FILES.kvd.map((f) => `native/examples/kvd/${v}/${f}`);
    await compileProgram({ name: "kvd", files: files("v0"), outDir: path.join(work, "v0"), cflags: [...EXAMPLE_CFLAGS], cwd: REPO_ROOT });
    const { manifest } = await generatePatch({ from: path.join(work, "v0"), files: files("v1"), outDir: path.join(work, "p1"), cflags: [...EXAMPLE_CFLAGS], cwd: REPO_ROOT });
    expect(manifest.functions.filter((f) => f.status === "added" || f.status === "removed")).toEqual([]);
    expect(manifest.globals.find((g) => g.name === "conn_table")).toMatchObject({ status: "same" });
    expect(manifest.globals.filter((g) => g.status === "removed")).toEqual([]);
  }, 180_000);
});
