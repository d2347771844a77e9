/**
 * In-process tests of the command line: how compile and patch arguments
 * reach compileProgram/generatePatch (both mocked here), and how outcomes
 * become exit codes and output.
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { GraftError } from "../model/diagnostics.js";
import type { CliContext } from "./context.js";
import { loadStage } from "./load-stage.js";
import { main, splitAtDoubleDash } from "./main.js";

const compileProgram = vi.fn();
const generatePatch = vi.fn();
vi.mock("../compile/index.js", () => ({ compileProgram: (o: unknown) => compileProgram(o) }));
vi.mock("../patch/index.js", () => ({ generatePatch: (o: unknown) => generatePatch(o) }));

/** The commands check their paths before calling the (mocked) stages: they exist here. */
const WORK = mkdtempSync(join(tmpdir(), "graft-main-test-"));
for (const f of ["kvd.c", "net.c", "a.c", "a.pub", "b.pub", "x.c"]) writeFileSync(join(WORK, f), "");
for (const d of ["b", "build-v0"]) mkdirSync(join(WORK, d));

interface Captured extends CliContext {
  stdout: string[];
  stderr: string[];
}

function capture(): Captured {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: (l) => stdout.push(l),
    err: (l) => stderr.push(l),
    env: {},
    cwd: WORK,
    passthrough: [],
    debug: false,
    exitCode: 0,
  };
}

beforeEach(() => {
  compileProgram.mockReset();
  generatePatch.mockReset();
});

describe("graft compile", () => {
  it("passes files, keys, rooms and the flags after -- split between compiling and linking", async () => {
    compileProgram.mockResolvedValue({ executable: "/o/kvd", versionDataPath: "/o/kvd.vd.json", diagnostics: [] });
    const ctx = capture();
    const code = await main(
      ["compile", "-o", "out", "--name", "kvd", "--trust", "a.pub", "--trust", "b.pub", "--room", "struct conn=64", "--room", "item=0",
        "kvd.c", "net.c", "--", "-O2", "-Iinc", "-DX=1", "-lm", "-L/opt/lib", "-Wl,--as-needed", "-pthread", "libz.a", "libfoo.so.1"],
      ctx,
    );
    expect(code).toBe(0);
    expect(compileProgram).toHaveBeenCalledWith({
      name: "kvd",
      files: ["kvd.c", "net.c"],
      outDir: "out",
      cflags: ["-O2", "-Iinc", "-DX=1", "-pthread"],
      ldflags: ["-lm", "-L/opt/lib", "-Wl,--as-needed", "-pthread", "libz.a", "libfoo.so.1"],
      trustedKeys: ["a.pub", "b.pub"],
      insecureAcceptUnsigned: false,
      rooms: { "struct conn": 64, item: 0 },
      staticRuntime: false,
      cwd: WORK,
      onProgress: expect.any(Function),
    });
    expect(ctx.stdout).toEqual(["wrote /o/kvd", "wrote /o/kvd.vd.json", "wrote /o/libgraft.so.1 (the runtime: deploy it with the executable)"]);
  });

  it("--static-runtime links the runtime in, and writes no libgraft.so.1", async () => {
    compileProgram.mockResolvedValue({ executable: "/o/kvd", versionDataPath: "/o/kvd.vd.json", diagnostics: [] });
    const ctx = capture();
    expect(await main(["compile", "-o", "out", "--name", "kvd", "--static-runtime", "--trust", "a.pub", "kvd.c"], ctx)).toBe(0);
    expect(compileProgram.mock.calls.at(-1)![0]).toMatchObject({ staticRuntime: true });
    expect(ctx.stdout).toEqual(["wrote /o/kvd", "wrote /o/kvd.vd.json"]);
  });

  it("warns loudly about the insecure flag, and about a program that trusts no key", async () => {
    compileProgram.mockResolvedValue({ executable: "e", versionDataPath: "v", diagnostics: [] });
    const insecure = capture();
    await main(["compile", "-o", "o", "--name", "n", "--insecure-accept-unsigned-patches", "a.c"], insecure);
    expect(compileProgram.mock.calls[0][0]).toMatchObject({ insecureAcceptUnsigned: true, trustedKeys: [], rooms: {}, cflags: [], ldflags: [] });
    expect(insecure.stderr.join("\n")).toMatch(/WARNING: --insecure-accept-unsigned-patches/);
    const untrusting = capture();
    await main(["compile", "-o", "o", "--name", "n", "a.c"], untrusting);
    expect(untrusting.stderr.join("\n")).toMatch(/no --trust key: the program will refuse every patch/);
  });

  it("refuses a malformed --room before compiling", async () => {
    const ctx = capture();
    expect(await main(["compile", "-o", "o", "--name", "n", "--room", "conn", "a.c"], ctx)).toBe(2);
    expect(ctx.stderr.join("\n")).toMatch(/expected TYPE=BYTES/);
    expect(compileProgram).not.toHaveBeenCalled();
  });

  it("needs at least one file, -o and --name", async () => {
    expect(await main(["compile", "-o", "o", "--name", "n"], capture())).toBe(2);
    expect(await main(["compile", "--name", "n", "a.c"], capture())).toBe(2);
    expect(compileProgram).not.toHaveBeenCalled();
  });

  it("prints a GraftError's diagnostics and exits with its code", async () => {
    compileProgram.mockRejectedValue(
      new GraftError("1 type cannot be wrapped", [{ code: 2101, category: "error", message: "struct hdr is cast from raw bytes", file: "net.c", line: 12, column: 3 }], 2),
    );
    const ctx = capture();
    expect(await main(["compile", "-o", "o", "--name", "n", "a.c"], ctx)).toBe(2);
    expect(ctx.stderr).toContain("net.c:12:3: error GR2101: struct hdr is cast from raw bytes");
    expect(ctx.stderr).toContain("graft compile: 1 type cannot be wrapped");
  });

  it("reports an internal error with where it was thrown, and the stack only with --debug", async () => {
    compileProgram.mockImplementation(function explode() {
      throw new TypeError("x is undefined");
    });
    const ctx = capture();
    expect(await main(["compile", "-o", "o", "--name", "n", "a.c"], ctx)).toBe(1);
    expect(ctx.stderr[ctx.stderr.length - 2]).toMatch(/^graft compile: internal error in explode \(.*main\.test\.ts:\d+\): x is undefined$/);
    expect(ctx.stderr.at(-1)).toBe("run with --debug for the stack trace");
    const debug = capture();
    await main(["--debug", "compile", "-o", "o", "--name", "n", "a.c"], debug);
    expect(debug.stderr.at(-1)).toMatch(/^TypeError: x is undefined\n\s+at explode/);
  });
});

// vi.mock needs the module to exist; lib/patch/index.ts is being written.
const hasPatchStage = existsSync(new URL("../patch/index.ts", import.meta.url));

describe.skipIf(!hasPatchStage)("graft patch", () => {
  it("passes --from, -o, --xform, files and flags", async () => {
    generatePatch.mockResolvedValue({ patchDir: "/p", manifest: { program: "kvd", sequence: 1, base: "3f".repeat(32), target: "77".repeat(32) }, diagnostics: [{ code: 4001, category: "info", message: "changed function: get" }] });
    const ctx = capture();
    const code = await main(["patch", "--from", "build-v0", "-o", "p1", "--xform", "x.c", "kvd.c", "--", "-O2", "-lm"], ctx);
    expect(code).toBe(0);
    expect(generatePatch).toHaveBeenCalledWith({
      from: "build-v0",
      files: ["kvd.c"],
      outDir: "p1",
      cflags: ["-O2"],
      ldflags: ["-lm"],
      xformFile: "x.c",
      cwd: WORK,
      onProgress: expect.any(Function),
    });
    expect(ctx.stderr).toContain("info GR4001: changed function: get");
    expect(ctx.stdout).toEqual(["wrote /p", "program kvd sequence 1 base 3f3f3f3f3f3f -> target 777777777777"]);
  });

  it("exit 2 when refused, 3 when nothing changed", async () => {
    generatePatch.mockRejectedValueOnce(new GraftError("2 refusal(s)", [], 2));
    expect(await main(["patch", "--from", "b", "-o", "p", "a.c"], capture())).toBe(2);
    generatePatch.mockRejectedValueOnce(new GraftError("no change", [], 3));
    expect(await main(["patch", "--from", "b", "-o", "p", "a.c"], capture())).toBe(3);
  });
});

describe("a stage that cannot load", () => {
  it("fails with the stage's name, only when a command needs it", async () => {
    await expect(loadStage("the patch generator (lib/patch)", () => import("./no-such-stage.js" as string))).rejects.toThrow(
      /^cannot load the patch generator \(lib\/patch\): /,
    );
  });
});

describe("splitAtDoubleDash", () => {
  it("splits at the first --, keeping later ones for gcc", () => {
    expect(splitAtDoubleDash(["compile", "a.c", "--", "-O2", "--", "x"])).toEqual({ own: ["compile", "a.c"], passthrough: ["-O2", "--", "x"] });
    expect(splitAtDoubleDash(["verify", "f"])).toEqual({ own: ["verify", "f"], passthrough: [] });
  });
});

describe("usage", () => {
  it("no arguments prints help and exits 2; --help exits 0", async () => {
    const none = capture();
    expect(await main([], none)).toBe(2);
    expect(none.stdout.join("\n")).toMatch(/Usage: graft/);
    expect(await main(["--help"], capture())).toBe(0);
    expect(await main(["compile", "--help"], capture())).toBe(0);
  });

  it("an unknown command exits 2", async () => {
    const ctx = capture();
    expect(await main(["frobnicate"], ctx)).toBe(2);
    expect(ctx.stderr.join("\n")).toMatch(/unknown command 'frobnicate'/);
  });
});
