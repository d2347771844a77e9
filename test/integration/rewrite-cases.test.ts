/**
 * Golden tests of the rewrite, one C construct per case in test/cases/rewrite
 * (a `.c` file, or a directory whose `.c` files are one program): each is
 * built stock (plain gcc) and updateable (`graft compile`) with the flags on
 * the first line of its first file (`// cflags: ...`), and both builds must
 * print the same thing. A construct the rewrite gets wrong shows up as gcc
 * rejecting Graft's output, as a Graft diagnostic, or as another output.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { compileProgram } from "../../lib/compile/index.js";
import { formatDiagnostic, GraftError } from "../../lib/model/diagnostics.js";
import { REPO_ROOT } from "../support/build.js";
import { run } from "../support/process.js";

const CASES_DIR = path.join(REPO_ROOT, "test", "cases", "rewrite");
const CASES = readdirSync(CASES_DIR).filter((f) => f.endsWith(".c") || statSync(path.join(CASES_DIR, f)).isDirectory()).sort();

/** The sources of a case, relative to its directory, and that directory. */
function caseSources(name: string): { cwd: string; files: string[] } {
  if (name.endsWith(".c")) return { cwd: CASES_DIR, files: [name] };
  const cwd = path.join(CASES_DIR, name);
  return { cwd, files: readdirSync(cwd).filter((f) => f.endsWith(".c")).sort() };
}

/** The flags a case asks for on its first line. */
function caseFlags(source: string): string[] {
  const m = /^\/\/ cflags:(.*)$/m.exec(source.split("\n")[0] ?? "");
  return m ? m[1].trim().split(/\s+/).filter(Boolean) : ["-O2"];
}

let work = "";
beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), "graft-rewrite-cases-"));
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe("rewrite: the program's own lines", () => {
  it("gdb's and addr2line's line for each function of an updateable build is its line in the source", async () => {
    // assert-lines.c: a struct that is wrapped, an assert, two statics in one declaration: text the rewrite moves or adds.
    const source = readFileSync(path.join(CASES_DIR, "assert-lines.c"), "utf8").split("\n");
    const dir = path.join(work, "lines");
    const exe = (await compileProgram({ name: "lines", files: ["assert-lines.c"], outDir: dir, cflags: ["-O0", "-g", "-std=c11"], cwd: CASES_DIR, insecureAcceptUnsigned: true })).executable;
    const nm = await run("nm", [exe]);
    for (const fn of ["room", "grow", "main"]) {
      const addr = new RegExp(`^([0-9a-f]+) [tT] ${fn}$`, "m").exec(nm.stdout)?.[1];
      expect(addr, `${fn} in nm's output`).toBeDefined();
      const where = (await run("addr2line", ["-e", exe, `0x${addr}`])).stdout.trim();
      const line = source.findIndex((l) => new RegExp(`^\\w.*\\b${fn}\\(`).test(l)) + 1;
      expect(where, fn).toBe(`${path.join(CASES_DIR, "assert-lines.c")}:${line}`);
    }
  }, 120_000);
});

describe("rewrite: stock and updateable builds of each construct print the same", () => {
  it("has cases", () => expect(CASES.length).toBeGreaterThan(3));
  for (const file of CASES) {
    it(file, async () => {
      const { cwd, files } = caseSources(file);
      const cflags = caseFlags(readFileSync(path.join(cwd, files[0]), "utf8"));
      const dir = path.join(work, file.replace(/\.c$/, ""));
      const stockExe = path.join(dir, "stock");
      await mkdir(dir, { recursive: true });
      // A case's -Wno-* flags name the one warning its construct draws (an implicit declaration): after -Wall, so they hold.
      const quiet = cflags.filter((f) => f.startsWith("-Wno-"));
      const sb = await run("gcc", [...cflags, "-Wall", "-Wextra", "-Werror", ...quiet, ...files.map((f) => path.join(cwd, f)), "-o", stockExe]);
      expect(sb.stderr, "the stock build is warning-free").toBe("");
      const stock = await run(stockExe, [], { timeoutMs: 10_000 });
      expect(stock.code).toBe(0);

      let exe: string;
      try {
        exe = (await compileProgram({ name: "case", files, outDir: dir, cflags, cwd, insecureAcceptUnsigned: true })).executable;
      } catch (e) {
        const text = e instanceof GraftError ? e.diagnostics.map(formatDiagnostic).join("\n") : String(e);
        throw new Error(`graft compile ${file} failed:\n${text}`);
      }
      const updateable = await run(exe, [], { timeoutMs: 10_000 });
      expect(updateable.code).toBe(0);
      expect(updateable.stdout).toBe(stock.stdout);
    }, 120_000);
  }
});
