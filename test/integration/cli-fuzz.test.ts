/**
 * A fuzz test of the command line: hundreds of malformed inputs (argument
 * lists, files and special files where files belong, bundles, patch
 * directories and version data mutated at random) against the real `graft`,
 * with a real updateable program (counterd v0) running throughout.
 *
 * Each input must get a documented exit code (0, 2 or 3: never 1, which is
 * Graft's own bug), a short answer (one error line, or one `refused` line),
 * no stack trace, no hang; and the process must be unharmed: still at its
 * version, serving, and still able to take the good bundle at the end.
 *
 * Seeded and reproducible: GRAFT_FUZZ_SEED (default 20261203) and
 * GRAFT_FUZZ_CASES (default 300; `npm run bench` runs more).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, cpSync, readdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileProgram, type CompileResult } from "../../lib/compile/index.js";
import { graftCli, graftInProcess, type CliRun } from "../support/bundles.js";
import { cFiles, fixtureDir, FIXTURE_CFLAGS, patchFixture, processStatus, waitForControlSocket } from "../support/graft.js";
import { freePort, startServer, type RunningServer } from "../support/server.js";
import type { PatchResult } from "../../lib/patch/index.js";

const SEED = Number(process.env.GRAFT_FUZZ_SEED ?? 20261203);
const CASES = Number(process.env.GRAFT_FUZZ_CASES ?? 300);
/** Longer than any honest answer takes here; a case past it is a hang. */
const CASE_LIMIT_MS = 20_000;

/** mulberry32: small, seeded, good enough to pick inputs. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface FuzzCase {
  kind: "argv" | "bundle" | "patch-dir" | "version-data";
  args: string[];
  /** Run as a child process (bin/graft.mjs) rather than through main() in this process. */
  child: boolean;
}

const work = mkdtempSync(path.join(os.tmpdir(), "graft-fuzz-"));
const runtimeDir = path.join(work, "run");
// No token: `graft push` never gets as far as a request.
const ENV: NodeJS.ProcessEnv = { ...process.env, GRAFT_RUNTIME_DIR: runtimeDir };
delete ENV.GRAFT_TOKEN;

let v0: CompileResult;
let p1: PatchResult;
let srv: RunningServer;
let goodBundle: string;

async function line(port: number, text: string): Promise<string> {
  const net = await import("node:net");
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () => s.write(text + "\n"));
    let buf = "";
    s.setTimeout(5000, () => { s.destroy(); reject(new Error("no answer")); });
    s.on("data", (d) => {
      buf += d.toString();
      if (buf.includes("\n")) { s.end(); resolve(buf.split("\n")[0]); }
    });
    s.on("error", reject);
  });
}

beforeAll(async () => {
  mkdirSync(runtimeDir, { mode: 0o700 });
  expect((await graftInProcess(["keygen", "-o", "keys"], { cwd: work, env: ENV })).code).toBe(0);
  const cwd = fixtureDir("counterd", "v0");
  // Both ways in: signed bundles (the key) and, as a development build, bare patch directories.
  v0 = await compileProgram({ name: "counterd", files: await cFiles(cwd), outDir: path.join(work, "v0"), cflags: [...FIXTURE_CFLAGS], cwd,
    trustedKeys: [path.join(work, "keys", "graft.pub")], insecureAcceptUnsigned: true });
  p1 = await patchFixture("counterd", path.join(work, "v0"), "v1", path.join(work, "p1"));
  goodBundle = path.join(work, "good.graft");
  expect((await graftInProcess(["bundle", p1.patchDir, "--key", "keys/graft.key", "-o", goodBundle], { cwd: work, env: ENV })).code).toBe(0);
  const port = await freePort();
  srv = await startServer(v0.executable, ["-p", String(port)], { port, env: ENV });
  await waitForControlSocket(srv.pid, 5000, ENV);

  // Things that are not what they claim to be.
  mkdirSync(path.join(work, "adir"));
  execFileSync("mkfifo", [path.join(work, "fifo"), path.join(work, "fifo.c"), path.join(work, "fifo.graft")]);
  symlinkSync("loop-b", path.join(work, "loop-a"));
  symlinkSync("loop-a", path.join(work, "loop-b"));
  symlinkSync("/dev/zero", path.join(work, "zero.graft"));
  writeFileSync(path.join(work, "ok.c"), "int main(void) { return 0; }\n");
  writeFileSync(path.join(work, "syntax.c"), "int main(void) { return 0 }\n");
  writeFileSync(path.join(work, "empty.graft"), "");
  writeFileSync(path.join(work, "garbage.c"), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) & 0xff)));
  writeFileSync(path.join(work, "key-as-pub"), readFileSync(path.join(work, "keys", "graft.key")));
}, 180_000);

afterAll(async () => {
  await srv?.stop();
  rmSync(work, { recursive: true, force: true });
});

// ------------------------------------------------------------ the inputs

function generate(count: number): FuzzCase[] {
  const r = rng(SEED);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const bytesOf = (file: string) => readFileSync(file);
  const specialPaths = [
    "fifo", "fifo.c", "fifo.graft", "/dev/zero", "/dev/null", "/dev/tty", "/proc/self/mem", "/proc/self/environ", "adir", "loop-a", "zero.graft",
    "missing", "missing.c", "missing.graft", "empty.graft", "garbage.c", "syntax.c", "key-as-pub", "keys/graft.key", "keys/graft.pub",
    "x".repeat(300), `${"d/".repeat(3000)}f`, "", "-", "line\nbreak", "tab\there", "ü.c", "/", "/etc/passwd", "../../../../etc/shadow",
  ];
  // Where a command writes: never a place outside the work directory that a run as root could change, but the
  // pseudo-file systems and special files, which must be refused before anything is written.
  const outputPaths = [
    "fifo", "fifo.graft", "/dev/null", "/dev/zero", "/proc/self/mem", "/sys/kernel/x", "adir", "loop-a", "zero.graft", "missing", "missing.graft",
    "empty.graft", "syntax.c", "keys", "keys/graft.key", "x".repeat(300), `${"d/".repeat(3000)}f`, "", "-", "line\nbreak", "ü.graft", "out/nested/deep",
  ];
  const values = ["-1", "0", "1", "abc", "1e3", "0x10", "99999999999999999999", "4000000000", "NaN", "", " ", "=", "s=4000000000", "s=-1", "conn=8", "=8", "a=b=c", "--", "%n%n"];
  const pid = () => pick([String(srv.pid), "1", "0", "-5", "999999999", "abc", String(process.pid)]);
  const commands: Record<string, () => string[]> = {
    keygen: () => ["keygen", ...pick([[], ["-o"], ["-o", "keys"], ["-o", pick(outputPaths)], ["--bogus"]])],
    bundle: () => ["bundle", pick([p1.patchDir, ...specialPaths]), ...pick([[], ["--key", pick(specialPaths)], ["--key", "keys/graft.key"]]), ...pick([[], ["-o", pick(outputPaths)]]), ...pick([[], ["--sequence", pick(values)]])],
    verify: () => ["verify", pick([goodBundle, ...specialPaths]), ...pick([[], ["--pub", pick(specialPaths)], ["--pub", "keys/graft.pub"]]), ...pick([[], ["--against", pick(specialPaths)]])],
    apply: () => ["apply", pick([goodBundle + ".nope", ...specialPaths]), ...pick([[], ["--pid", pid()]]), ...pick([[], ["--timeout", pick(values)]])],
    status: () => ["status", ...pick([[], ["--pid", pid()], ["--pid"]])],
    compile: () => ["compile", ...pick([[], ["-o", pick(outputPaths)], ["-o", "out-" + Math.floor(r() * 1e6)]]), ...pick([[], ["--name", pick(["a", "../x", "", "a b", "x".repeat(80), "ok"])]]),
      ...pick([[], ["--room", pick(values)], ["--trust", pick(specialPaths)]]), ...Array.from({ length: Math.floor(r() * 3) }, () => pick(specialPaths))],
    patch: () => ["patch", ...pick([[], ["--from", pick(specialPaths)], ["--from", path.join(work, "v0")]]), ...pick([[], ["-o", pick(outputPaths)]]), ...pick([[], ["--xform", pick(specialPaths)]]), pick(specialPaths)],
    push: () => ["push", pick(specialPaths), ...pick([[], ["--program", pick(["kvd", "", "../x"])]]), ...pick([[], ["--label", pick(values)]]), ...pick([[], ["--server", pick(["http://127.0.0.1:1", "not a url", "ftp://x", "http://[::1"])]])],
    other: () => [pick(["frobnicate", "--frob", "-x", "", "apply --pid", "--help=3", "--debug"]), ...pick([[], [pick(values)]])],
  };
  const mutate = (orig: Buffer): Buffer => {
    const b = Buffer.from(orig);
    switch (Math.floor(r() * 5)) {
      case 0: return b.subarray(0, Math.floor(r() * b.length));
      case 1: { for (let i = 0, n = 1 + Math.floor(r() * 4); i < n; i++) b[Math.floor(r() * b.length)] ^= 1 << Math.floor(r() * 8); return b; }
      case 2: return Buffer.concat([b, Buffer.from(Array.from({ length: 1 + Math.floor(r() * 64) }, () => Math.floor(r() * 256)))]);
      case 3: { const at = Math.floor(r() * b.length); return Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + Math.floor(r() * 32)))]); }
      default: { const at = Math.floor(r() * Math.min(b.length, 256)); b.fill(0, at, at + 8); return b; }
    }
  };
  const vdFile = path.join(work, "v0", "counterd.vd.json");
  const cases: FuzzCase[] = [];
  for (let i = 0; i < count; i++) {
    const roll = r();
    if (roll < 0.4) {
      cases.push({ kind: "argv", args: commands[pick(Object.keys(commands))](), child: i % 20 === 0 });
    } else if (roll < 0.65) {
      const file = path.join(work, `m${i}.graft`);
      writeFileSync(file, mutate(bytesOf(goodBundle)));
      cases.push({ kind: "bundle", args: r() < 0.5 ? ["verify", file, "--pub", "keys/graft.pub"] : ["apply", "--pid", String(srv.pid), file], child: i % 25 === 0 });
    } else if (roll < 0.8) {
      const dir = path.join(work, `pd${i}`);
      cpSync(p1.patchDir, dir, { recursive: true });
      // Only the shape of patch.so is broken (truncated); a byte flipped inside its code would be code the
      // developer chose to run, which an insecure build takes on trust.
      // The runtime reads a patch directory's manifest only for an early check of the base (the patch's own
      // base is checked anyway), so what is sent to the process always has a truncated patch.so.
      const apply = r() < 0.5;
      if (apply) { const so = path.join(dir, "patch.so"); writeFileSync(so, bytesOf(so).subarray(0, Math.floor(r() * bytesOf(so).length))); }
      const target = pick(["patch.so", "manifest.json", "manifest.json"]);
      const f = path.join(dir, target);
      if (target === "patch.so") writeFileSync(f, bytesOf(f).subarray(0, Math.floor(r() * bytesOf(f).length)));
      else if (r() < 0.3) rmSync(f);
      else writeFileSync(f, mutate(bytesOf(f)));
      cases.push({ kind: "patch-dir", args: apply ? ["apply", "--pid", String(srv.pid), dir] : ["bundle", dir, "--key", "keys/graft.key", "-o", `${dir}.graft`], child: false });
    } else {
      const dir = path.join(work, `vd${i}`);
      mkdirSync(dir);
      const text = readFileSync(vdFile, "utf8");
      const edits: (() => string)[] = [
        () => mutate(Buffer.from(text)).toString("utf8"),
        () => text.replace(/"path": ?"[^"]+"/, '"path":"../../etc/passwd"'),
        () => text.replace(/"digest": ?"[0-9a-f]+"/, `"digest":"${"0".repeat(64)}"`),
        () => text.replace(/"sequence": ?\d+/, '"sequence":-1'),
        () => text.replace(/"program": ?"[^"]+"/, '"program":null'),
        () => "[]",
        () => "{}",
        () => text.slice(0, Math.floor(text.length / 2)),
      ];
      writeFileSync(path.join(dir, "counterd.vd.json"), pick(edits)());
      const args = r() < 0.6
        ? ["patch", "--from", dir, "-o", path.join(dir, "out"), ...readdirSync(fixtureDir("counterd", "v1")).filter((n) => n.endsWith(".c")).map((n) => path.join(fixtureDir("counterd", "v1"), n)), "--", ...FIXTURE_CFLAGS]
        : ["verify", goodBundle, "--pub", "keys/graft.pub", "--against", path.join(dir, "counterd.vd.json")];
      cases.push({ kind: "version-data", args, child: false });
    }
  }
  return cases;
}

// ------------------------------------------------------------ the judgement

function judge(c: FuzzCase, run: CliRun): string[] {
  const problems: string[] = [];
  const errLines = run.stderr.split("\n").filter((l) => l.trim() !== "");
  const outLines = run.stdout.split("\n").filter((l) => l.trim() !== "");
  if (![0, 2, 3].includes(run.code)) problems.push(`exit ${run.code}`);
  if (errLines.some((l) => /^\s+at\s/.test(l))) problems.push("a stack trace");
  if (/^graft \w+: internal error/m.test(run.stderr)) problems.push("an internal error");
  if (run.code === 2 && !run.stderr.startsWith("Usage:")) {
    const refusedLine = outLines.length === 1 && /^refused \S+ /.test(outLines[0]);
    // One diagnostic, perhaps with the command's one-line summary after it; progress and warnings aside.
    const errors = errLines.filter((l) => /\berror\b/i.test(l));
    if (!refusedLine && (errors.length === 0 || errors.length > 2)) problems.push(`${errors.length} error lines`);
  }
  return problems.map((p) => `${c.kind} ${JSON.stringify(c.args)}: ${p}\n  exit ${run.code}\n  stdout: ${run.stdout.slice(0, 400)}\n  stderr: ${run.stderr.slice(0, 800)}`);
}

async function runCase(c: FuzzCase): Promise<CliRun> {
  const timeout = new Promise<CliRun>((resolve) => setTimeout(() => resolve({ args: c.args, code: -1, stdout: "", stderr: `no answer within ${CASE_LIMIT_MS} ms (a hang)` }), CASE_LIMIT_MS));
  const run = c.child
    ? graftCli(c.args, { cwd: work, env: ENV, timeoutMs: CASE_LIMIT_MS })
    : graftInProcess(c.args, { cwd: work, env: ENV });
  return Promise.race([run, timeout]);
}

describe(`graft's command line under ${CASES} malformed inputs (seed ${SEED})`, () => {
  it("answers each with a documented exit code and a short message, never a stack trace or a hang, and leaves the running program unharmed", async () => {
    const cases = generate(CASES);
    const problems: string[] = [];
    const byKind = new Map<string, number>();
    for (const c of cases) {
      const run = await runCase(c);
      problems.push(...judge(c, run));
      byKind.set(`${c.kind} exit ${run.code}`, (byKind.get(`${c.kind} exit ${run.code}`) ?? 0) + 1);
      if (problems.length >= 10) break;
      // Only broken patches reach the process, so any apply that succeeds is a wrong answer.
      if (c.args[0] === "apply" && run.code === 0) problems.push(`${JSON.stringify(c.args)}: applied`);
    }
    console.log(`cli-fuzz: ${[...byKind].map(([k, n]) => `${k}: ${n}`).join(", ")}`);
    // Devices named as outputs are still devices (an atomic rename over /dev/null, as root, once replaced it with a file).
    for (const dev of ["/dev/null", "/dev/zero"]) expect(statSync(dev).isCharacterDevice(), dev).toBe(true);
    expect(problems, problems.join("\n\n")).toEqual([]);

    // Unharmed: the same version, serving, and the good bundle still applies.
    const before = await processStatus(srv.pid, ENV);
    expect(before.sequence).toBe(0);
    expect(await line(srv.port, "version")).toBe("counterd 0");
    const applied = await graftInProcess(["apply", "--pid", String(srv.pid), goodBundle], { cwd: work, env: ENV });
    expect(applied.code, applied.stdout + applied.stderr).toBe(0);
    expect(await line(srv.port, "version")).toBe("counterd 1");
  }, 900_000);
});
