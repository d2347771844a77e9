/**
 * Diagnostics (issue 3): a construct Graft cannot handle gets a diagnostic
 * naming the file, the line and the construct, and never a crash; types that
 * cannot be wrapped are left alone and reported fixed, with the reason, in the
 * version data; and a patch that changes a fixed type is refused.
 *
 * The programs are in test/fixtures/diagnostics; each marks the line a
 * diagnostic must point at with a `graft-diag: <what>` comment.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { compileProgram, type CompileResult } from "../../lib/compile/index.js";
import { GraftError, type Diagnostic } from "../../lib/model/diagnostics.js";
import { generatePatch } from "../../lib/patch/index.js";
import { FIXTURE_CFLAGS, FIXTURES_DIR } from "../support/graft.js";
import { REPO_ROOT } from "../support/index.js";

const T = 120_000;
const DIAG_DIR = path.join(FIXTURES_DIR, "diagnostics");
const run = promisify(execFile);

let workDir = "";
beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), "graft-diag-"));
});
afterAll(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

/** The 1-based line of `dir/file` carrying the marker comment `graft-diag: <what>`. */
function markedLine(file: string, what: string, dir = DIAG_DIR): number {
  const lines = readFileSync(path.join(dir, file), "utf8").split("\n");
  const i = lines.findIndex((l) => l.includes(`graft-diag: ${what} */`));
  if (i < 0) throw new Error(`${file} has no 'graft-diag: ${what}' marker`);
  return i + 1;
}

function compile(file: string, outName = path.basename(file, ".c"), cwd = DIAG_DIR): Promise<CompileResult> {
  return compileProgram({
    name: outName,
    files: [file],
    outDir: path.join(workDir, outName),
    cflags: [...FIXTURE_CFLAGS],
    cwd,
    insecureAcceptUnsigned: true,
  });
}

/** Runs f, which must throw a GraftError; returns it. */
async function graftError(f: () => Promise<unknown>): Promise<GraftError> {
  let thrown: unknown;
  try {
    await f();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, "expected a GraftError").toBeInstanceOf(GraftError);
  return thrown as GraftError;
}

const errors = (e: GraftError): Diagnostic[] => e.diagnostics.filter((d) => d.category === "error");

describe("unsupported constructs: a diagnostic with file, line and construct, no build", () => {
  it(
    "a static local sharing its declaration (static int last, calls;)",
    async () => {
      const e = await graftError(() => compile("static-shared.c"));
      expect(e.exitCode).toBe(2);
      const ds = errors(e);
      // One per variable of the declaration, each saying what to do.
      expect(ds.map((d) => [d.code, d.file, d.line])).toEqual([
        [3001, "static-shared.c", markedLine("static-shared.c", "static-shared")],
        [3001, "static-shared.c", markedLine("static-shared.c", "static-shared")],
      ]);
      expect(ds[0].message).toMatch(/static local 'last' shares its declaration/);
      expect(ds[1].message).toMatch(/static local 'calls' shares its declaration/);
      expect(ds[0].message).toMatch(/declare it on its own line/);
    },
    T,
  );

  it(
    "a goto inside the event loop that holds the update point",
    async () => {
      const e = await graftError(() => compile("goto-loop.c"));
      expect(e.exitCode).toBe(2);
      const ds = errors(e);
      expect(ds).toHaveLength(1);
      expect(ds[0]).toMatchObject({ code: 3006, file: "goto-loop.c", line: markedLine("goto-loop.c", "goto") });
      expect(ds[0].message).toMatch(/\bgoto\b.*loop.*update point/);
      expect(ds[0].message).toMatch(/break or continue/);
    },
    T,
  );

  it(
    "member access on a wrapped struct returned by value (origin().x)",
    async () => {
      const e = await graftError(() => compile("member-of-call.c"));
      expect(e.exitCode).toBe(2);
      const ds = errors(e);
      expect(ds).toHaveLength(1);
      expect(ds[0]).toMatchObject({ code: 3002, file: "member-of-call.c", line: markedLine("member-of-call.c", "member-of-call") });
      expect(ds[0].message).toMatch(/member access on a struct point value/);
      expect(ds[0].message).toMatch(/assign it to a variable first/);
    },
    T,
  );

  it(
    "a nested struct initialised without its inner braces ({ 1, 2, 3, 4 })",
    async () => {
      const e = await graftError(() => compile("brace-elision.c"));
      expect(e.exitCode).toBe(2);
      const ds = errors(e);
      expect(ds.length).toBeGreaterThanOrEqual(1);
      for (const d of ds) {
        expect(d).toMatchObject({ code: 3003, file: "brace-elision.c", line: markedLine("brace-elision.c", "brace-elision") });
        expect(d.message).toMatch(/initialiser of struct point leaves out its braces: write them out/);
      }
    },
    T,
  );

  it(
    "the command line prints file:line and exits 2, without a stack trace",
    async () => {
      const r = await run(process.execPath, [path.join(REPO_ROOT, "bin", "graft.mjs"), "compile", "-o", path.join(workDir, "cli"), "--name", "goto-loop", "goto-loop.c", "--", ...FIXTURE_CFLAGS], {
        cwd: DIAG_DIR,
      }).then(
        () => ({ code: 0, stderr: "", stdout: "" }),
        (e: { code: number; stderr: string; stdout: string }) => e,
      );
      expect(r.code).toBe(2);
      const out = r.stdout + r.stderr;
      expect(out).toContain(`goto-loop.c:${markedLine("goto-loop.c", "goto")}: error GR3006: a goto inside the loop`);
      expect(out).not.toMatch(/\n\s+at .*\.(ts|js|mjs):\d+/);
    },
    T,
  );
});

describe("types that cannot be wrapped are left alone, reported fixed with the reason", () => {
  let built: CompileResult;
  const type = (key: string) => built.versionData.types.find((t) => t.key === key)!;

  beforeAll(async () => {
    built = await compile("fixed-types.c");
  }, T);

  it("a cast from char * to the struct's pointer", () => {
    expect(type("header").wrapped).toBe(false);
    expect(type("header").fixed).toEqual({ reason: "struct header is made by a cast from 'char *' (raw bytes)", file: "fixed-types.c", line: markedLine("fixed-types.c", "cast") });
  });

  it("write() of the struct's bytes", () => {
    expect(type("sample").wrapped).toBe(false);
    expect(type("sample").fixed).toEqual({ reason: "struct sample is sent through write() as raw bytes", file: "fixed-types.c", line: markedLine("fixed-types.c", "write") });
  });

  it("read() into the struct's bytes", () => {
    expect(type("ping").wrapped).toBe(false);
    expect(type("ping").fixed).toEqual({ reason: "struct ping is sent through read() as raw bytes", file: "fixed-types.c", line: markedLine("fixed-types.c", "read") });
  });

  it("a flexible array member is no reason: the struct is wrapped, the member kept after the room", () => {
    expect(type("message").wrapped).toBe(true);
    expect(type("message").fixed).toBeUndefined();
    expect(type("message").flexible).toEqual({ name: "text", type: "char[]" });
  });

  it("an ordinary struct next to them is still wrapped; no diagnostics; the program runs as the stock build does", async () => {
    expect(type("totals").wrapped).toBe(true);
    expect(type("totals").fixed).toBeUndefined();
    expect(built.diagnostics.filter((d) => d.category === "error")).toEqual([]);
    const stockExe = path.join(workDir, "fixed-types-stock");
    await run("gcc", [...FIXTURE_CFLAGS, "-o", stockExe, path.join(DIAG_DIR, "fixed-types.c")]);
    const stock = await run(stockExe, []);
    const graft = await run(built.executable, []);
    expect(stock.stdout).toBe("1234 5 42 7 9 64 hello 7 1\n");
    expect(graft.stdout).toBe(stock.stdout);
  });
});

describe("a patch that changes a fixed type", () => {
  it(
    "is refused: GraftError with exit code 2 naming the type and why it is fixed",
    async () => {
      const dir = path.join(DIAG_DIR, "fixed-change");
      const v0 = await compile("journal.c", "journal", path.join(dir, "v0"));
      const entry = v0.versionData.types.find((t) => t.key === "entry")!;
      expect(entry.wrapped).toBe(false);
      expect(entry.fixed?.reason).toBe("struct entry is sent through write() as raw bytes");

      const e = await graftError(() =>
        generatePatch({ from: path.join(workDir, "journal"), files: ["journal.c"], outDir: path.join(workDir, "journal-p1"), cflags: [...FIXTURE_CFLAGS], cwd: path.join(dir, "v1") }),
      );
      expect(e.exitCode).toBe(2);
      expect(e.message).toMatch(/unsupported change/);
      const ds = errors(e);
      expect(ds).toHaveLength(1);
      expect(ds[0]).toMatchObject({ code: 4001, file: "journal.c" });
      expect(ds[0].message).toContain("struct entry changed but is fixed in the running program");
      expect(ds[0].message).toContain("sent through write() as raw bytes");
    },
    T,
  );
});
