/**
 * The "Check" of the review page: edited transformers compiled against a
 * generated patch, with gcc's diagnostics on lines of xform.c.
 */
import { mkdtemp, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { checkTransformers } from "../../lib/patch/index.js";
import { compileExample, patchExample } from "../support/graft.js";

describe("checking edited transformers", () => {
  let patchDir = "";
  let generated = "";

  beforeAll(async () => {
    const work = await mkdtemp(path.join(os.tmpdir(), "graft-check-"));
    await compileExample("kvd", "v0", path.join(work, "v0"));
    ({ patchDir } = await patchExample("kvd", path.join(work, "v0"), "v1", path.join(work, "p1")));
    generated = await readFile(path.join(patchDir, "xform.c"), "utf8");
  }, 180_000);

  it("accepts the generated transformers", async () => {
    const ds = await checkTransformers({ patchDir, xformSource: generated });
    expect(ds.filter((d) => d.category === "error")).toEqual([]);
  }, 60_000);

  it("puts gcc's error on the edited line of xform.c", async () => {
    const lines = generated.split("\n");
    const at = lines.findIndex((l) => l.includes("new->nkey = old->nkey"));
    expect(at).toBeGreaterThan(0);
    lines.splice(at + 1, 0, "    new->nkey = old->no_such_field;");
    const ds = await checkTransformers({ patchDir, xformSource: lines.join("\n") });
    expect(ds).toEqual([expect.objectContaining({ category: "error", file: "xform.c", line: at + 2, message: expect.stringContaining("no_such_field") })]);
  }, 60_000);

  it("refuses a directive before compiling anything", async () => {
    const ds = await checkTransformers({ patchDir, xformSource: generated.replace("{\n", "{\n#include \"/etc/passwd\"\n") });
    expect(ds).toEqual([expect.objectContaining({ code: 4102, file: "xform.c" })]);
  }, 60_000);
});
