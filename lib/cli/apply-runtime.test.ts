/**
 * `graft apply` and `graft status` against the real runtime: libgraft's own
 * test program (native/runtime/test/prog.c, "idle" mode: blocked in poll)
 * with a real patch (test/patch.c), signed by `graft bundle`. Shows the
 * CLI's exit codes for applied and each kind of refusal, and the process
 * still answering afterwards. Skipped where gcc or libsodium is missing.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const REPO = resolve(fileURLToPath(import.meta.url), "../../..");
const BIN = join(REPO, "bin/graft.mjs");
const RT = join(REPO, "native/runtime");
/** The runtime's sources, as its Makefile lists them. */
const RUNTIME_SOURCES = /^SRCS := (.*)$/m.exec(readFileSync(join(RT, "Makefile"), "utf8"))![1].trim().split(/\s+/);
const D0 = "a".repeat(64);
const D1 = "b".repeat(64);

function haveToolchain(): boolean {
  if (!existsSync("/usr/include/sodium.h") || !existsSync(join(RT, "test/prog.c"))) return false;
  try {
    execFileSync("gcc", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe.skipIf(!haveToolchain())("graft apply against libgraft", () => {
  const dir = mkdtempSync(join(tmpdir(), "graft-apply-rt-"));
  const runDir = join(dir, "run");
  let prog: ChildProcess;

  const graft = (...args: string[]): Promise<Run> =>
    new Promise((done) =>
      execFile(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, GRAFT_RUNTIME_DIR: runDir } }, (e, stdout, stderr) =>
        done({ code: e ? (typeof e.code === "number" ? e.code : -1) : 0, stdout, stderr }),
      ),
    );

  const gcc = (args: string[]) => execFileSync("gcc", ["-O1", `-I${join(RT, "include")}`, `-I${join(RT, "test")}`, `-I${RT}`, ...args]);

  beforeAll(async () => {
    expect((await graft("keygen", "-o", "keys")).code).toBe(0);
    expect((await graft("keygen", "-o", "other")).code).toBe(0);
    const key = readFileSync(join(dir, "keys/graft.pub"), "utf8").split(" ")[1].trim();
    writeFileSync(
      join(dir, "meta.c"),
      `const char grt_program_name[] = "testprog";\nconst char grt_version_digest[] = "${D0}";\n` +
        `const char grt_trusted_keys[] = "${key}\\n";\nconst int grt_insecure_unsigned = 0;\n`,
    );
    gcc(["-std=c11", "-D_GNU_SOURCE", join(RT, "test/prog.c"), join(dir, "meta.c"), ...RUNTIME_SOURCES.map((s) => join(RT, s)),
      "-o", join(dir, "prog"), "-rdynamic", "-lsodium", "-lpthread", "-ldl"]);
    mkdirSync(join(dir, "p1"));
    gcc(["-shared", "-fPIC", '-DPATCH_PROGRAM="testprog"', `-DPATCH_BASE="${D0}"`, `-DPATCH_TARGET="${D1}"`, "-DPATCH_ANSWER=42",
      join(RT, "test/patch.c"), "-o", join(dir, "p1/patch.so")]);
    writeFileSync(join(dir, "p1/manifest.json"), JSON.stringify({ program: "testprog", base: D0, target: D1, sequence: 1 }));

    mkdirSync(runDir, { mode: 0o700 });
    prog = spawn(join(dir, "prog"), ["idle"], { env: { ...process.env, GRAFT_RUNTIME_DIR: runDir }, stdio: ["pipe", "pipe", "inherit"] });
    const sock = join(runDir, `${prog.pid}.sock`);
    for (let i = 0; i < 500 && !existsSync(sock); i++) await new Promise((ok) => setTimeout(ok, 10));
    expect(existsSync(sock)).toBe(true);
  }, 120_000);

  afterAll(() => {
    if (prog && prog.exitCode === null) prog.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  const pid = () => String(prog.pid);

  it("status before: version D0, sequence 0", async () => {
    const r = await graft("status", "--pid", pid());
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`ok program=testprog version=${D0} sequence=0 patches=0 pid=${pid()}\n`);
  });

  it("a bundle signed by an untrusted key: refused untrusted-key, exit 2, same verdict as `graft verify`", async () => {
    expect((await graft("bundle", "p1", "--key", "other/graft.key", "-o", "other.graft")).code).toBe(0);
    const r = await graft("apply", "--pid", pid(), "other.graft");
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/^refused untrusted-key /);
    const offline = await graft("verify", "other.graft", "--pub", "keys/graft.pub");
    expect(offline.stdout).toMatch(/^refused untrusted-key /);
  });

  it("a tampered bundle: refused digest-mismatch, exit 2", async () => {
    expect((await graft("bundle", "p1", "--key", "keys/graft.key", "-o", "good.graft")).code).toBe(0);
    const bytes = readFileSync(join(dir, "good.graft"));
    bytes[bytes.length - 3] ^= 1;
    writeFileSync(join(dir, "tampered.graft"), bytes);
    const r = await graft("apply", "--pid", pid(), "tampered.graft");
    expect([r.code, r.stdout.split(" ").slice(0, 2).join(" ")]).toEqual([2, "refused digest-mismatch"]);
  });

  it("a bare patch directory to a signed build: refused unsigned, exit 2", async () => {
    const r = await graft("apply", "--pid", pid(), "p1");
    expect([r.code, r.stdout.split(" ").slice(0, 2).join(" ")]).toEqual([2, "refused unsigned"]);
  });

  it("the good bundle: applied, exit 0, and the process now runs D1 at sequence 1", async () => {
    const r = await graft("apply", "--pid", pid(), "good.graft", "--timeout", "5000");
    // Whole result compared, so a failure shows the runtime's reply.
    expect(r).toEqual({ code: 0, stdout: expect.stringMatching(new RegExp(`^applied pause_us=\\d+ point=1 sequence=1 version=${D1} threads=1 waited_us=\\d+\\n$`)), stderr: "" });
    const s = await graft("status", "--pid", pid());
    expect(s.stdout).toBe(`ok program=testprog version=${D1} sequence=1 patches=1 pid=${pid()}\n`);
  });

  it("the same bundle again: refused wrong-base (the base is no longer running), exit 2", async () => {
    const r = await graft("apply", "--pid", pid(), "good.graft");
    expect(r).toEqual({ code: 2, stdout: expect.stringMatching(/^refused wrong-base /), stderr: "" });
  });

  it("the process still answers, with the patched code", async () => {
    const reply = await new Promise<string>((ok) => {
      prog.stdout!.once("data", (d: Buffer) => ok(d.toString()));
      prog.stdin!.write("answer\n");
    });
    expect(reply.trim()).toBe("answer=42");
  });
});
