/**
 * A unit too big to analyse (issue 15: a 5.4 MB source ended in a RangeError
 * and a stack trace) is refused with GR1003, the file and what to do, exit 2.
 * Slow (clang writes an 800 MB syntax tree, about 10 s): run with GRAFT_SLOW=1.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { describe, expect, it } from "vitest";

import type { CliContext } from "../../lib/cli/context.js";
import { main } from "../../lib/cli/main.js";
import { GRAFT_INCLUDE_DIR } from "../support/build.js";

describe.skipIf(!process.env.GRAFT_SLOW)("a source whose syntax tree does not fit", () => {
  it("is refused with GR1003 naming the file, exit 2, no stack trace", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "graft-big-"));
    try {
      const lines = ['#include "graft.h"'];
      for (let i = 0; i < 150_000; i++) lines.push(`int f${i}(int x) { return x + ${i}; }`);
      lines.push("int main(void) { GRAFT_UPDATE_POINT(); return f1(1); }");
      await writeFile(path.join(dir, "main.c"), lines.join("\n") + "\n");
      const out: string[] = [];
      const ctx: CliContext = { out: (l) => out.push(l), err: (l) => out.push(l), env: process.env, cwd: dir, passthrough: [], debug: false, exitCode: 0 };
      const code = await main(["compile", "--name", "big", "-o", path.join(dir, "out"), "main.c", "--", `-I${GRAFT_INCLUDE_DIR}`], ctx);
      expect(code, out.join("\n")).toBe(2);
      expect(out.join("\n")).toMatch(/main\.c:1: error GR1003: clang's syntax tree of this unit is \d+ MB, more than the 500 MB Graft reads/);
      expect(out.join("\n")).not.toMatch(/RangeError|internal error|\n\s+at /);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
