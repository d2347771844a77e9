/**
 * The worker's sandbox for compilers (issue 15): with the environment the
 * worker gives its jobs (GRAFT_SANDBOX=bwrap, the job's directory writable,
 * its key directory hidden), uploaded sources cannot read the machine's
 * files, the checkout or the job's keys through the preprocessor or the
 * assembler, and an honest program still builds and runs. Without the
 * sandbox the same source does read the file: the test could fail.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { compileProgram } from "../../lib/compile/index.js";
import { bwrapArgs, runTool, SANDBOX_PROCESSES, sandboxPolicy } from "../../lib/compile/sandbox.js";
import { formatDiagnostic, GraftError } from "../../lib/model/diagnostics.js";
import { GRAFT_INCLUDE_DIR, REPO_ROOT } from "../support/build.js";

const exec = promisify(execFile);
const CFLAGS = ["-O2", "-std=gnu99", `-I${GRAFT_INCLUDE_DIR}`];
const haveBwrap = existsSync("/usr/bin/bwrap");

let work = "";
beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), "graft-sandbox-"));
  await mkdir(path.join(work, "keys"));
  await writeFile(path.join(work, "keys", "secret.key"), "SECRET-KEY-BYTES\n");
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});
afterEach(() => {
  delete process.env.GRAFT_SANDBOX;
  delete process.env.GRAFT_SANDBOX_WRITABLE;
  delete process.env.GRAFT_SANDBOX_HIDE;
});

function sandboxOn() {
  process.env.GRAFT_SANDBOX = "bwrap";
  process.env.GRAFT_SANDBOX_WRITABLE = work;
  process.env.GRAFT_SANDBOX_HIDE = path.join(work, "keys");
}

/** Builds `source` as main.c in its own directory under the job's; returns the error text, or "" when it built. */
async function build(name: string, source: string): Promise<{ error: string; executable?: string }> {
  const src = path.join(work, name, "src");
  await mkdir(src, { recursive: true });
  await writeFile(path.join(src, "main.c"), source);
  try {
    const r = await compileProgram({ name, files: ["main.c"], outDir: path.join(work, name, "out"), cflags: CFLAGS, cwd: src, insecureAcceptUnsigned: true });
    return { error: "", executable: r.executable };
  } catch (e) {
    return { error: e instanceof GraftError ? e.diagnostics.map(formatDiagnostic).join("\n") : String(e) };
  }
}

const HONEST = `#include <stdio.h>\n#include "graft.h"\nint main(void) { GRAFT_UPDATE_POINT(); puts("built in the sandbox"); return 0; }\n`;

describe.skipIf(!haveBwrap)("compilers in the worker's sandbox", () => {
  it("reads the policy from the environment; an unknown sandbox is an error, not a silent fallback", () => {
    expect(sandboxPolicy({})).toBeUndefined();
    expect(sandboxPolicy({ GRAFT_SANDBOX: "off" })).toBeUndefined();
    expect(sandboxPolicy({ GRAFT_SANDBOX: "bwrap", GRAFT_SANDBOX_WRITABLE: "/a:/b", GRAFT_SANDBOX_HIDE: "/a/keys" })).toEqual({ writable: ["/a", "/b"], hidden: ["/a/keys"] });
    expect(() => sandboxPolicy({ GRAFT_SANDBOX: "chroot" })).toThrow(/GRAFT_SANDBOX=chroot: expected bwrap or off/);
    const args = bwrapArgs({ writable: ["/w"], hidden: ["/w/keys"] }, "gcc", ["-c", "x.c"], "/w/src");
    expect(args).toEqual(expect.arrayContaining(["--unshare-all", "--clearenv", "--die-with-parent"]));
    // The keys are hidden after the job's directory is bound, or the bind would show them again.
    expect(args.lastIndexOf("--tmpfs")).toBeGreaterThan(args.indexOf("--bind"));
    expect(args[args.lastIndexOf("--tmpfs") + 1]).toBe("/w/keys");
    expect(args.slice(-3)).toEqual(["gcc", "-c", "x.c"]);
    expect(args).toContain(`--nproc=${SANDBOX_PROCESSES}`);
  });

  it("without the sandbox, #include \"/etc/passwd\" reads the file (the compiler reports an error inside it: what the sandbox must stop)", async () => {
    const r = await build("open-passwd", `#include "/etc/passwd"\nint main(void) { return 0; }\n`);
    expect(r.error).toMatch(/\/etc\/passwd:1:\d+: error/);
  });

  it("an honest program builds in the sandbox and runs", async () => {
    sandboxOn();
    const r = await build("honest", HONEST);
    expect(r.error).toBe("");
    const { stdout } = await exec(r.executable!, [], { env: { ...process.env, GRAFT_RUNTIME_DIR: work } });
    expect(stdout).toBe("built in the sandbox\n");
  });

  const attacks: { name: string; source: () => string; leak: RegExp; why: RegExp }[] = [
    { name: "the machine's files (#include \"/etc/passwd\")", source: () => `#include "/etc/passwd"\nint main(void) { return 0; }\n`, leak: /root:/, why: /\/etc\/passwd: No such file/ },
    { name: "the checkout (#include of its package.json, beside the database)", source: () => `#include "${REPO_ROOT}/package.json"\nint main(void) { return 0; }\n`, leak: /"name": "graft"/, why: /package\.json: No such file/ },
    { name: "the job's keys (#include \"../../keys/secret.key\")", source: () => `#include "../../keys/secret.key"\nint main(void) { return 0; }\n`, leak: /SECRET-KEY/, why: /secret\.key: No such file/ },
    { name: "the assembler (.incbin \"/etc/hostname\")", source: () => `__asm__(".section .rodata\\n.incbin \\"/etc/hostname\\"\\n.previous");\nint main(void) { return 0; }\n`, leak: /^$/, why: /hostname/ },
  ];
  for (const a of attacks) {
    it(`uploaded sources cannot read ${a.name}`, async () => {
      sandboxOn();
      const r = await build(`attack-${attacks.indexOf(a)}`, a.source());
      expect(r.error, "the build is refused").not.toBe("");
      expect(r.error).toMatch(a.why);
      if (a.leak.source !== "^$") expect(r.error).not.toMatch(a.leak);
    });
  }

  it("a symbolic link in the job's directory (made by an earlier step of the build) leads nowhere outside it", async () => {
    sandboxOn();
    const src = path.join(work, "symlink", "src");
    await mkdir(src, { recursive: true });
    await symlink(path.join(REPO_ROOT, "package.json"), path.join(src, "leak.h"));
    await symlink("/etc/passwd", path.join(src, "passwd.h"));
    for (const header of ["leak.h", "passwd.h"]) {
      const r = await build(`symlink-${header}`, `#include "${path.join(src, header)}"\nint main(void) { return 0; }\n`);
      expect(r.error).toMatch(/No such file/);
      expect(r.error).not.toMatch(/"name"|"scripts"|root:x:/);
    }
  });

  it("__has_include cannot probe for files outside: the sandbox sees no /etc/passwd", async () => {
    const probe = `#if __has_include("/etc/passwd") || __has_include("${REPO_ROOT}/package.json")\n#error "OUTSIDE-VISIBLE"\n#endif\nint main(void) { return 0; }\n`;
    expect((await build("probe-open", probe)).error).toMatch(/OUTSIDE-VISIBLE/);
    sandboxOn();
    expect((await build("probe", probe)).error).toBe("");
  });

  it("the assembler's .include cannot read outside either", async () => {
    sandboxOn();
    const r = await build("asm-include", `__asm__(".include \\"/etc/passwd\\"");\nint main(void) { return 0; }\n`);
    expect(r.error).toMatch(/passwd/);
    expect(r.error).not.toMatch(/root/);
  });

  it("the worker's environment stays out: /proc/self/environ in the sandbox holds only what bwrap sets", async () => {
    process.env.GRAFT_CANARY_ENV = "CANARY-ENV-5d1c";
    try {
      sandboxOn();
      // Included as a string literal's contents would need the bytes to parse; an #error line shows what was read.
      const r = await build("environ", `#include "/proc/self/environ"\nint main(void) { return 0; }\n`);
      expect(r.error).not.toContain("CANARY-ENV-5d1c");
      const { stdout } = await exec("/usr/bin/bwrap", bwrapArgs(sandboxPolicy(process.env)!, "/usr/bin/cat", ["/proc/self/environ"], work));
      expect(stdout).not.toContain("CANARY-ENV-5d1c");
      // bwrap adds PWD for --chdir.
      expect(stdout.split("\0").filter(Boolean).map((v) => v.split("=")[0]).sort()).toEqual(["LC_ALL", "PATH", "PWD", "TMPDIR"]);
    } finally {
      delete process.env.GRAFT_CANARY_ENV;
    }
  });

  it("bubblewrap's own process in the sandbox (pid 1) holds none of the worker's environment", async () => {
    sandboxOn();
    process.env.GRAFT_TEST_CANARY = "canary-in-the-workers-environment";
    try {
      // What it would see if bwrap were started with the worker's environment: the test could fail.
      const leaky = await exec("/usr/bin/bwrap", bwrapArgs(sandboxPolicy(process.env)!, "/usr/bin/cat", ["/proc/1/environ"], work));
      expect(leaky.stdout).toContain("canary-in-the-workers-environment");
      const { stdout } = await runTool("/usr/bin/cat", ["/proc/1/environ"]);
      expect(stdout).not.toContain("canary");
      expect(stdout).not.toMatch(/GRAFT_|DATABASE_URL/);
      const r = await build("pid1-environ", `#include "/proc/1/environ"\nint main(void) { return 0; }\n`);
      expect(r.error).not.toContain("canary");
    } finally {
      delete process.env.GRAFT_TEST_CANARY;
    }
  });

  it("a build cannot write outside the job's directory, nor reach the network", async () => {
    sandboxOn();
    const outside = path.join(REPO_ROOT, `sandbox-pwned-${process.pid}.d`);
    const src = path.join(work, "write-out");
    await mkdir(src, { recursive: true });
    await writeFile(path.join(src, "main.c"), "int main(void) { return 0; }\n");
    await compileProgram({ name: "write-out", files: ["main.c"], outDir: path.join(src, "out"), cflags: [...CFLAGS, "-MD", "-MF", outside], cwd: src, insecureAcceptUnsigned: true }).catch(() => undefined);
    expect(existsSync(outside)).toBe(false);
    // No network namespace but loopback: nothing to connect to, not even the dashboard on this machine.
    const net = await exec("/usr/bin/bwrap", bwrapArgs(sandboxPolicy(process.env)!, "/usr/bin/cat", ["/proc/net/dev"], work));
    expect(net.stdout.split("\n").filter((l) => /:/.test(l)).map((l) => l.split(":")[0].trim())).toEqual(["lo"]);
  });

  it("a fork bomb in the sandbox runs out of processes, and nothing it started outlives the sandbox", async () => {
    sandboxOn();
    // The kernel does not hold root to RLIMIT_NPROC: run the sandbox as the unprivileged user a worker should be.
    const asWorker = process.getuid?.() === 0 ? ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"] : [];
    const bomb = `n=0; while [ $n -lt 1000 ]; do sleep 30 & n=$((n+1)); echo $n; done`;
    const args = bwrapArgs({ writable: [], hidden: [] }, "/bin/sh", ["-c", bomb], undefined);
    const r = await exec(asWorker[0] ?? "/usr/bin/bwrap", [...asWorker.slice(1), ...(asWorker.length ? ["/usr/bin/bwrap"] : []), ...args]).catch((e: { stdout: string; stderr: string }) => e);
    expect(r.stderr).toMatch(/Cannot fork/);
    const started = Number(r.stdout.trim().split("\n").pop());
    expect(started).toBeGreaterThan(SANDBOX_PROCESSES / 2);
    expect(started).toBeLessThan(SANDBOX_PROCESSES);
    // The shell was the sandbox's first process: when it ended, the kernel ended every sleep it started.
    const left = await exec("/usr/bin/pgrep", ["-f", "^sleep 30$"]).then((x) => x.stdout.trim(), () => "");
    expect(left).toBe("");
  });

  it("a sandbox setting that names no known sandbox refuses the build instead of running the compiler unsandboxed", async () => {
    process.env.GRAFT_SANDBOX = "firejail";
    const r = await build("unknown-sandbox", HONEST);
    expect(r.error).toMatch(/GRAFT_SANDBOX=firejail: expected bwrap or off/);
  });
});
