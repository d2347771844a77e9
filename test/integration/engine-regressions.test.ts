/**
 * Engine bugs the safety tests found (test/fixtures/safety/engine-bugs): each
 * case builds real programs, applies real patches to running processes and
 * prints `REPRODUCED` or `not reproduced`. They are fixed; this keeps them so.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const repro = fileURLToPath(new URL("../fixtures/safety/engine-bugs/repro.ts", import.meta.url));
const tsx = fileURLToPath(new URL("../../node_modules/.bin/tsx", import.meta.url));
const cases = ["fnptr-signature", "same-name-points", "field-alias", "retyped-global", "restart-side-effect", "restart-for-increment", "global-initialiser"];

describe("engine regressions", () => {
  for (const c of cases) {
    it(`${c} stays fixed`, async () => {
      const r = await run(tsx, [repro, c], { maxBuffer: 16 << 20 }).catch((e: { stdout?: string; stderr?: string; code?: number }) => e);
      const out = `${r.stdout ?? ""}${r.stderr ?? ""}`;
      expect(out, out).toContain("=> not reproduced");
      expect(out).not.toContain("=> REPRODUCED");
    }, 180_000);
  }
});
