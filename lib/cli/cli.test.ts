/**
 * The real `graft` command, run as a child process from a directory outside
 * the repository: exit codes and messages of keygen, bundle, verify, apply
 * and status. apply/status talk to a fake runtime: a unix socket served by
 * this test, named for this test's own (live) pid.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { minimalSharedObject } from "../bundle/test-fixtures.js";

const BIN = resolve(fileURLToPath(import.meta.url), "../../../bin/graft.mjs");
const root = mkdtempSync(join(tmpdir(), "graft-cli-test-"));
const outputs: string[] = [];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function graft(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { cwd: root, env: { ...process.env, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      outputs.push(stdout, stderr);
      const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

const BASE = "3f".repeat(32);

beforeAll(() => {
  const patch = join(root, "patch");
  mkdirSync(patch);
  writeFileSync(join(patch, "patch.so"), minimalSharedObject(200));
  writeFileSync(join(patch, "manifest.json"), JSON.stringify({ program: "kvd", base: BASE, target: "77".repeat(32), sequence: 4 }));
});

afterAll(() => {
  // The private key must not have shown up in anything any command printed.
  const pem = readFileSync(join(root, "keys/graft.key"), "utf8");
  const body = pem.split("\n").slice(1, -2).join("");
  for (const out of outputs) {
    expect(out).not.toContain(body);
    expect(out).not.toContain("PRIVATE KEY-----");
  }
  rmSync(root, { recursive: true, force: true });
});

describe("graft (child process)", () => {
  it("compile and patch check their paths before any work: one line naming the file, exit 2", async () => {
    mkdirSync(join(root, "srcdir"), { recursive: true });
    writeFileSync(join(root, "ok.c"), "int main(void) { return 0; }\n");
    const cases: [string[], string][] = [
      [["compile", "-o", "/proc/graft-out", "--name", "a", "ok.c"], "/proc/graft-out: error GR6005: -o: /proc/graft-out is in a kernel pseudo-file system"],
      [["compile", "-o", "out", "--name", "a", "srcdir"], "srcdir: error GR6005: is a directory"],
      [["compile", "-o", "out", "--name", "a", "ok.h"], "ok.h: error GR6005: not a C source"],
      [["compile", "-o", "out", "--name", "a", "missing.c"], "missing.c: error GR6005: no such file"],
      [["compile", "-o", "ok.c", "--name", "a", "ok.c"], "ok.c: error GR6005: -o: exists and is not a directory"],
      [["patch", "--from", "nowhere", "-o", "p", "ok.c"], "nowhere: error GR6005: --from: no such directory"],
      [["patch", "--from", "srcdir", "-o", "p", "--xform", "nope.c", "ok.c"], "nope.c: error GR6005: --xform: no such file"],
    ];
    for (const [args, want] of cases) {
      const r = await graft(args);
      expect([r.code, r.stderr.trim().split("\n").length, r.stderr], args.join(" ")).toEqual([2, 1, expect.stringContaining(want)]);
    }
    // Version data edited by hand: its digest no longer matches.
    const built = await graft(["compile", "-o", "vdout", "--name", "a", "--insecure-accept-unsigned-patches", "ok.c"]);
    expect(built.code, built.stderr).toBe(0);
    const vdPath = join(root, "vdout", "a.vd.json");
    writeFileSync(vdPath, readFileSync(vdPath, "utf8").replace('"ok.c"', '"../../etc/passwd"'));
    const tampered = await graft(["patch", "--from", "vdout", "-o", "p2", "ok.c"]);
    expect([tampered.code, tampered.stderr]).toEqual([2, expect.stringContaining("error GR4012: its digest does not match its content")]);
    const room = await graft(["compile", "-o", "out", "--name", "a", "--room", "s=4000000000", "ok.c"]);
    expect(room.code).not.toBe(0);
    expect(room.stderr).toContain("at most 1048576 (1 MiB) per value");
  });

  it("--help works from any directory and lists the commands", async () => {
    const r = await graft(["--help"]);
    expect(r.code).toBe(0);
    for (const c of ["keygen", "bundle", "verify", "apply", "status", "compile", "patch"]) expect(r.stdout).toContain(c);
  });

  it("--version prints the package version", async () => {
    const r = await graft(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it("keygen writes a 0600 private key and prints only the public key", async () => {
    const r = await graft(["keygen", "-o", "keys"]);
    expect(r.code).toBe(0);
    expect(statSync(join(root, "keys/graft.key")).mode & 0o777).toBe(0o600);
    const pub = readFileSync(join(root, "keys/graft.pub"), "utf8").trim();
    expect(r.stdout).toContain(pub);
    expect(r.stdout).toMatch(/key id [0-9a-f]{16}/);
  });

  it("keygen refuses to overwrite, exit 2, naming the file", async () => {
    const before = readFileSync(join(root, "keys/graft.key"));
    const r = await graft(["keygen", "-o", "keys"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${join(root, "keys/graft.key")}: error GR5005: refusing to overwrite an existing key file`);
    expect(readFileSync(join(root, "keys/graft.key"))).toEqual(before);
  });

  it("bundle signs the patch dir", async () => {
    const r = await graft(["bundle", "patch", "--key", "keys/graft.key", "-o", "kvd-4.graft"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`wrote ${join(root, "kvd-4.graft")}`);
    expect(r.stdout).toContain("program kvd sequence 4");
    expect(r.stdout).toMatch(/patch\.so \d+ [0-9a-f]{64}/);
  });

  it("bundle --sequence overrides manifest.json", async () => {
    const r = await graft(["bundle", "patch", "--key", "keys/graft.key", "-o", "kvd-9.graft", "--sequence", "9"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("sequence 9");
  });

  it("bundle: a bad --sequence is a usage error", async () => {
    const r = await graft(["bundle", "patch", "--key", "keys/graft.key", "-o", "x.graft", "--sequence", "-3"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--sequence.*non-negative integer/);
  });

  it("bundle: a patch dir without patch.so, exit 2", async () => {
    mkdirSync(join(root, "empty"), { recursive: true });
    writeFileSync(join(root, "empty/manifest.json"), JSON.stringify({ program: "kvd", base: BASE, target: BASE, sequence: 1 }));
    const r = await graft(["bundle", "empty", "--key", "keys/graft.key", "-o", "x.graft"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no patch.so: the patch was not built");
  });

  it("verify: ok, exit 0", async () => {
    const r = await graft(["verify", "kvd-4.graft", "--pub", "keys/graft.pub"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ok program=kvd sequence=4 base=3f3f/);
  });

  it("verify: a tampered byte, exit 2 digest-mismatch", async () => {
    const bytes = readFileSync(join(root, "kvd-4.graft"));
    bytes[bytes.length - 1] ^= 1; // inside summary.json
    writeFileSync(join(root, "tampered.graft"), bytes);
    const r = await graft(["verify", "tampered.graft", "--pub", "keys/graft.pub"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/^refused digest-mismatch SHA-256 of summary\.json differs/);
  });

  it("verify: truncated, exit 2 bad-format", async () => {
    writeFileSync(join(root, "short.graft"), readFileSync(join(root, "kvd-4.graft")).subarray(0, 100));
    const r = await graft(["verify", "short.graft", "--pub", "keys/graft.pub"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/^refused bad-format truncated/);
  });

  it("verify: another key, exit 2 untrusted-key", async () => {
    await graft(["keygen", "-o", "other"]);
    const r = await graft(["verify", "kvd-4.graft", "--pub", "other/graft.pub"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/^refused untrusted-key /);
    expect(r.stderr).toMatch(/the bundle claims \(unverified\): program=kvd sequence=4 base=3f3f3f3f3f3f key=[0-9a-f]{16}/);
  });

  it("verify: several --pub, one of them right, exit 0", async () => {
    const r = await graft(["verify", "kvd-4.graft", "--pub", "other/graft.pub", "--pub", "keys/graft.pub"]);
    expect(r.code).toBe(0);
  });

  it("verify: the runtime's replay, wrong-base and wrong-program verdicts offline", async () => {
    const replay = await graft(["verify", "kvd-4.graft", "--pub", "keys/graft.pub", "--after-sequence", "4"]);
    expect([replay.code, replay.stdout]).toEqual([2, expect.stringMatching(/^refused replay /)]);
    const base = await graft(["verify", "kvd-4.graft", "--pub", "keys/graft.pub", "--base", "00".repeat(32)]);
    expect([base.code, base.stdout]).toEqual([2, expect.stringMatching(/^refused wrong-base /)]);
    const prog = await graft(["verify", "kvd-4.graft", "--pub", "keys/graft.pub", "--program", "httpd"]);
    expect([prog.code, prog.stdout]).toEqual([2, expect.stringMatching(/^refused wrong-program /)]);
  });

  it("verify --against a version data file: the verdicts of the build it describes", async () => {
    const vd = (digest: string, sequence: number) => JSON.stringify({ format: "x", program: "kvd", digest, sequence, functions: [] });
    writeFileSync(join(root, "v0.vd.json"), vd(BASE, 0));
    writeFileSync(join(root, "v1.vd.json"), vd("77".repeat(32), 4));
    const ok = await graft(["verify", "kvd-4.graft", "--pub", "keys/graft.pub", "--against", "v0.vd.json"]);
    expect([ok.code, ok.stdout]).toEqual([0, expect.stringMatching(/^ok /)]);
    const later = await graft(["verify", "kvd-4.graft", "--pub", "keys/graft.pub", "--against", "v1.vd.json"]);
    expect([later.code, later.stdout]).toEqual([2, expect.stringMatching(/^refused wrong-base /)]);
    const replay = await graft(["verify", "kvd-4.graft", "--pub", "keys/graft.pub", "--against", "v0.vd.json", "--after-sequence", "7"]);
    expect([replay.code, replay.stdout]).toEqual([2, expect.stringMatching(/^refused replay /)]);
    writeFileSync(join(root, "junk.vd.json"), "{}");
    const junk = await graft(["verify", "kvd-4.graft", "--pub", "keys/graft.pub", "--against", "junk.vd.json"]);
    expect([junk.code, junk.stderr]).toEqual([2, expect.stringContaining("not version data written by `graft compile`")]);
  });

  it("verify: a bare patch directory, exit 2 unsigned", async () => {
    const r = await graft(["verify", "patch", "--pub", "keys/graft.pub"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/^refused unsigned /);
  });

  it("verify: the private key given as --pub, exit 2 with what to do", async () => {
    const r = await graft(["verify", "kvd-4.graft", "--pub", "keys/graft.key"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("this is a private key; pass the public key (graft.pub) instead");
  });

  it("verify: a malformed public key file, exit 2 naming it", async () => {
    writeFileSync(join(root, "bad.pub"), "graft-ed25519-public 1234\n");
    const r = await graft(["verify", "kvd-4.graft", "--pub", "bad.pub"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${join(root, "bad.pub")}: error GR5002: expected 64 lowercase hex characters, got 4 hex characters`);
  });

  it("verify: a missing bundle, exit 2", async () => {
    const r = await graft(["verify", "nope.graft", "--pub", "keys/graft.pub"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("cannot read bundle: no such file");
  });

  it("flags after -- are refused by commands that take none", async () => {
    const r = await graft(["verify", "kvd-4.graft", "--pub", "keys/graft.pub", "--", "-O2"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("graft verify takes no arguments after --: -O2");
  });
});

describe("graft apply / status", () => {
  it("apply to a pid that does not exist: clear message, exit 2", async () => {
    const r = await graft(["apply", "--pid", "999999999", "kvd-4.graft"], { GRAFT_RUNTIME_DIR: join(root, "run") });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no process with pid 999999999");
  });

  it("apply to a live process without a control socket: exit 2, says what to check", async () => {
    const r = await graft(["apply", "--pid", String(process.pid), "kvd-4.graft"], { GRAFT_RUNTIME_DIR: join(root, "run") });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`process ${process.pid} has no control socket at ${join(root, "run", `${process.pid}.sock`)}`);
  });

  it("apply a file that does not exist: exit 2 before connecting", async () => {
    const r = await graft(["apply", "--pid", String(process.pid), "missing.graft"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no such file or directory");
  });

  describe("against a fake runtime", () => {
    const runDir = join(root, "fake-run");
    let server: Server;
    let reply = "";
    const requests: string[] = [];

    beforeAll(async () => {
      mkdirSync(runDir, { mode: 0o700 });
      server = createServer((socket) => {
        let data = "";
        socket.on("data", (chunk) => {
          data += chunk;
          if (data.includes("\n")) {
            requests.push(data);
            if (reply) socket.end(reply); // "": a process that has not reached an update point
          }
        });
      });
      await new Promise<void>((ok) => server.listen(join(runDir, `${process.pid}.sock`), ok));
    });
    afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

    const env = () => ({ GRAFT_RUNTIME_DIR: runDir });

    it("applied: prints the reply, exit 0, and sent the absolute path and timeout", async () => {
      reply = "applied pause_us=42 point=main_loop sequence=4 version=77\n";
      const r = await graft(["apply", "--pid", String(process.pid), "kvd-4.graft", "--timeout", "250"], env());
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(reply);
      expect(requests.at(-1)).toMatch(new RegExp(`^apply ${join(root, "kvd-4.graft")} 250 until=(\\d+)\n$`));
      // until= is the deadline on the runtime's clock (CLOCK_MONOTONIC): now plus the timeout.
      const until = Number(/until=(\d+)/.exec(requests.at(-1)!)![1]);
      const now = Number(process.hrtime.bigint() / 1_000_000n);
      expect(until - now).toBeGreaterThan(0);
      expect(until - now).toBeLessThanOrEqual(250);
    });

    it("a patch directory is sent as its absolute path, timeout 0 by default", async () => {
      reply = "refused unsigned this program accepts only signed bundles\n";
      const r = await graft(["apply", "--pid", String(process.pid), "patch"], env());
      expect(requests.at(-1)).toMatch(new RegExp(`^apply ${join(root, "patch")} 0 until=\\d+\n$`));
      expect(r.code).toBe(2);
    });

    it("refused: prints the code and reason, exit 2", async () => {
      reply = "refused timeout no safe update point in 250 ms: main_loop (struct conn in use)\n";
      const r = await graft(["apply", "--pid", String(process.pid), "kvd-4.graft"], env());
      expect(r.code).toBe(2);
      expect(r.stdout).toBe(reply);
    });

    it("an unexpected reply: exit 1", async () => {
      reply = "what?\n";
      const r = await graft(["apply", "--pid", String(process.pid), "kvd-4.graft"], env());
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("unexpected reply");
    });

    it("status: prints the reply, exit 0", async () => {
      reply = `ok program=kvd version=${BASE} sequence=3 patches=1 pid=${process.pid}\n`;
      const r = await graft(["status", "--pid", String(process.pid)], env());
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(reply);
      expect(requests.at(-1)).toBe("status\n");
    });

    it("the request line is followed by SIGURG to the pid (the runtime starts serving at its next update point)", async () => {
      let signals = 0;
      const onUrg = () => signals++;
      process.on("SIGURG", onUrg);
      try {
        reply = `ok program=kvd version=${BASE} sequence=3 patches=1 pid=${process.pid}\n`;
        const r = await graft(["status", "--pid", String(process.pid)], env());
        expect(r.code).toBe(0);
        expect(signals).toBeGreaterThan(0);
      } finally {
        process.off("SIGURG", onUrg);
      }
    });

    it("no reply: the timeout says the process has not reached an update point since the request", async () => {
      reply = "";
      const r = await graft(["status", "--pid", String(process.pid)], env());
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`process ${process.pid} did not reply within 5000 ms: since the request it has reached no update point`);
    });

    it("a path with a space is sent whole (the runtime reads the timeout from the last word)", async () => {
      writeFileSync(join(root, "a b.graft"), readFileSync(join(root, "kvd-4.graft")));
      reply = "applied pause_us=1 point=p sequence=4 version=77\n";
      const r = await graft(["apply", "--pid", String(process.pid), "a b.graft"], env());
      expect(r.code).toBe(0);
      expect(requests.at(-1)).toMatch(new RegExp(`^apply ${join(root, "a b.graft")} 0 until=\\d+\n$`));
    });

    it("a path with a newline cannot be sent: exit 2", async () => {
      writeFileSync(join(root, "a\nb.graft"), "x");
      const r = await graft(["apply", "--pid", String(process.pid), "a\nb.graft"], env());
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("cannot carry a path with a newline");
    });
  });
});
