/**
 * Golden tests of the program model, one case per directory of
 * test/cases/model: `v0/` and `v1/` hold two versions of a small program and
 * `expect.json` what `graft patch` must find between them: every function,
 * type and global that changed, with its status (nothing else may be listed;
 * "noise", text that means the same, and "caller", a function taken along
 * because it calls a changed one directly, are not changes), or the refusal's
 * code. `fixed` and `wrapped` list types the first
 * build must have fixed or wrapped; `safe`, every point's verdict. `why`
 * says what the case is about.
 */
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { compileProgram } from "../../lib/compile/index.js";
import { formatDiagnostic, GraftError } from "../../lib/model/diagnostics.js";
import { generatePatch } from "../../lib/patch/index.js";
import { GRAFT_INCLUDE_DIR, REPO_ROOT } from "../support/build.js";

const CASES_DIR = path.join(REPO_ROOT, "test", "cases", "model");
const CASES = readdirSync(CASES_DIR).sort();
const CFLAGS = ["-O2", "-std=gnu99", `-I${GRAFT_INCLUDE_DIR}`];

interface Expectation {
  why: string;
  functions?: Record<string, string>;
  types?: Record<string, string>;
  globals?: Record<string, string>;
  /** `GR4005`: the patch must be refused with this code. */
  error?: string;
  fixed?: string[];
  wrapped?: string[];
  /** Every update point's verdict for the patch. */
  safe?: boolean;
}

const sources = (dir: string) => readdirSync(dir).filter((f) => f.endsWith(".c")).sort();
const NOT_CHANGES = new Set(["same", "noise", "caller"]);
const changes = <T extends { status: string }>(items: T[], name: (t: T) => string) =>
  Object.fromEntries(items.filter((t) => !NOT_CHANGES.has(t.status)).map((t) => [name(t), t.status]));

let work = "";
beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), "graft-model-cases-"));
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe("model: graft patch finds what changed between two versions, and nothing else", () => {
  it("has cases", () => expect(CASES.length).toBeGreaterThan(3));
  for (const name of CASES) {
    it(name, async () => {
      const caseDir = path.join(CASES_DIR, name);
      const want = JSON.parse(readFileSync(path.join(caseDir, "expect.json"), "utf8")) as Expectation;
      const v0 = path.join(caseDir, "v0"), v1 = path.join(caseDir, "v1");
      const out = path.join(work, name);
      const built = await compileProgram({ name, files: sources(v0), outDir: path.join(out, "v0"), cflags: CFLAGS, cwd: v0, insecureAcceptUnsigned: true })
        .catch((e: unknown) => { throw new Error(`graft compile v0 failed:\n${explain(e)}`); });
      const types = new Map(built.versionData.types.map((t) => [t.key, t]));
      for (const k of want.fixed ?? []) expect(types.get(k)?.fixed, `${k} is fixed`).toBeDefined();
      for (const k of want.wrapped ?? []) expect(types.get(k)?.wrapped, `${k} is wrapped (${types.get(k)?.fixed?.reason ?? ""})`).toBe(true);

      const patched = generatePatch({ from: path.join(out, "v0"), files: sources(v1), outDir: path.join(out, "patch"), cflags: CFLAGS, cwd: v1 });
      if (want.error) {
        const e = await patched.then(() => undefined, (err: unknown) => err);
        expect(e, "the patch is refused").toBeInstanceOf(GraftError);
        expect((e as GraftError).diagnostics.map((d) => `GR${d.code}`), explain(e)).toContain(want.error);
        return;
      }
      const m = await patched.then((r) => r.manifest, (e: unknown) => { throw new Error(`graft patch failed:\n${explain(e)}`); });
      expect({
        functions: changes(m.functions, (f) => f.name),
        types: changes(m.types, (t) => t.key),
        globals: changes(m.globals, (g) => g.name),
      }, want.why).toEqual({ functions: want.functions ?? {}, types: want.types ?? {}, globals: want.globals ?? {} });
      if (want.safe !== undefined) for (const p of m.safety) expect(p.safe, `point ${p.id} at ${p.file}:${p.line}: ${p.reasons.join("; ")}`).toBe(want.safe);
    }, 120_000);
  }
});

function explain(e: unknown): string {
  return e instanceof GraftError ? e.diagnostics.map(formatDiagnostic).join("\n") : String(e);
}
