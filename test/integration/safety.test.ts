/**
 * The updateability (safety) analysis of issue 5, shown with running
 * processes. Programs in test/fixtures/safety:
 *
 * - jobq: a work queue fed on stdin, with an update point at the head of the
 *   main loop's body (extracted, restarts the iteration: safe for any patch)
 *   and one in the middle of process(), after which the job's fields are
 *   still used and score() is still called. A patch that changes struct job,
 *   or score()'s signature, is reported unsafe at the middle point (with the
 *   type and the file:line of its use) and the runtime applies it only at
 *   the head point, even while a job is in flight across the middle point; a
 *   patch that changes only function bodies applies at the middle point.
 * - pump: the only update point is in a function called from a long-running
 *   loop that is not extracted and uses struct job on every turn: a patch
 *   changing struct job is refused at apply time (timeout, naming the point
 *   and why) and the process keeps working; a body-only patch applies there.
 * - stress: a busy loop over a table of records. A chain of versions is
 *   built programmatically (each step changes a constant, every fifth step
 *   also struct rec's layout), and for each step an unsafe variant (a field
 *   added to struct rec, used after the point in op()). 1000 update requests
 *   in a row at random moments, every reply checked against the patch's
 *   manifest: zero crashes, never an update at an unsafe point, the
 *   records' invariants intact at the end.
 *
 * Skipped where gcc, clang or libsodium is missing.
 */
import { libcExports } from "../../lib/compile/toolchain.js";
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { compileProgram } from "../../lib/compile/index.js";
import { generatePatch, type PatchResult } from "../../lib/patch/index.js";
import { parseProgram, unameOf } from "../../lib/cfront/program.js";
import { collectFacts } from "../../lib/analysis/facts.js";
import { analysePoint } from "../../lib/analysis/safety.js";
import type { VersionData } from "../../lib/model/version-data.js";
import type { PatchManifest } from "../../lib/model/patch-manifest.js";
import { controlSocketPid, signalControlRequest } from "../support/graft.js";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const FIXTURES = path.join(REPO, "test", "fixtures", "safety");
const INCLUDE = path.join(REPO, "native", "runtime", "include");
const CFLAGS = ["-O2", `-I${INCLUDE}`];

function haveToolchain(): boolean {
  if (!existsSync("/usr/include/sodium.h")) return false;
  try {
    execFileSync("gcc", ["--version"], { stdio: "ignore" });
    execFileSync("clang", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise<void>((ok) => setTimeout(ok, ms));
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** 1-based line of the first line of `file` that contains `marker`. */
function lineOf(file: string, marker: string): number {
  const i = readFileSync(file, "utf8").split("\n").findIndex((l) => l.includes(marker));
  if (i < 0) throw new Error(`${marker} not in ${file}`);
  return i + 1;
}

// ---- builds ------------------------------------------------------------------

let work = "";
let runtimeDir = "";

/** Copies a fixture to WORK/<dir>/<name>.c, so that every version of a program is the same file name. */
async function stage(dir: string, name: string, source: string): Promise<string> {
  const d = path.join(work, dir);
  await mkdir(d, { recursive: true });
  await writeFile(path.join(d, `${name}.c`), source);
  return d;
}

async function compile(name: string, srcDir: string, outDir: string) {
  const t0 = performance.now();
  const r = await compileProgram({ name, files: [`${name}.c`], outDir, cflags: CFLAGS, cwd: srcDir, insecureAcceptUnsigned: true });
  return { ...r, outDir, ms: performance.now() - t0 };
}

async function patch(name: string, from: string, srcDir: string, outDir: string): Promise<PatchResult & { ms: number }> {
  const t0 = performance.now();
  const r = await generatePatch({ from, files: [`${name}.c`], outDir, cflags: CFLAGS, cwd: srcDir });
  return { ...r, ms: performance.now() - t0 };
}

const unsafeIds = (m: PatchManifest) => new Set(m.safety.filter((s) => !s.safe).map((s) => s.id));
const pointIn = (vd: VersionData, fn: string) => {
  const p = vd.updatePoints.filter((q) => q.function === fn);
  if (p.length !== 1) throw new Error(`expected one update point in ${fn}, found ${p.length}`);
  return p[0];
};

// ---- running programs ----------------------------------------------------------

class Prog {
  readonly proc: ChildProcess;
  readonly lines: string[] = [];
  private cursor = 0;
  private partial = "";
  private errPartial = "";
  private waiters: (() => void)[] = [];
  stderrText = "";
  /** Counts of stderr lines matching `countErr` patterns (the runtime's log), without keeping them. */
  readonly errCounts = new Map<string, number>();
  exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  readonly exited: Promise<void>;

  constructor(exe: string, opts: { keepStderr?: boolean; countErr?: Record<string, RegExp> } = {}) {
    this.proc = spawn(exe, [], {
      env: { ...process.env, GRAFT_RUNTIME_DIR: runtimeDir, GRAFT_LOG: "stderr" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    running.add(this);
    this.proc.stdout!.setEncoding("utf8");
    this.proc.stdout!.on("data", (d: string) => {
      const parts = (this.partial + d).split("\n");
      this.partial = parts.pop()!;
      this.lines.push(...parts);
      this.wake();
    });
    this.proc.stderr!.setEncoding("utf8");
    this.proc.stderr!.on("data", (d: string) => {
      const parts = (this.errPartial + d).split("\n");
      this.errPartial = parts.pop()!;
      for (const l of parts) {
        if (opts.keepStderr !== false) this.stderrText += l + "\n";
        for (const [k, re] of Object.entries(opts.countErr ?? {})) if (re.test(l)) this.errCounts.set(k, (this.errCounts.get(k) ?? 0) + 1);
      }
    });
    this.proc.stdin!.on("error", () => {});
    this.exited = new Promise((ok) =>
      this.proc.once("exit", (code, signal) => {
        this.exit = { code, signal };
        running.delete(this);
        this.wake();
        ok();
      }),
    );
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  get socket(): string {
    return path.join(runtimeDir, `${this.proc.pid}.sock`);
  }

  send(line: string) {
    this.proc.stdin!.write(line + "\n");
  }

  /** The next stdout line (after the last one taken) matching `re`; lines skipped on the way are passed over. */
  async next(re: RegExp, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.cursor < this.lines.length) {
        const l = this.lines[this.cursor++];
        if (re.test(l)) return l;
      }
      if (this.exit) throw new Error(`process exited (${JSON.stringify(this.exit)}) while waiting for ${re}; stderr tail: ${this.stderrText.slice(-2000)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no line matching ${re} within ${timeoutMs} ms; stdout: ${this.lines.slice(-20).join(" | ")}`);
      await new Promise<void>((ok) => {
        const t = setTimeout(ok, left);
        this.waiters.push(() => {
          clearTimeout(t);
          ok();
        });
      });
    }
  }

  /** Starts the program and waits for its "ready" line and its control socket. */
  static async start(exe: string, opts?: ConstructorParameters<typeof Prog>[1]): Promise<Prog> {
    const p = new Prog(exe, opts);
    await p.next(/^ready$/);
    for (let i = 0; i < 500 && !existsSync(p.socket); i++) await sleep(10);
    if (!existsSync(p.socket)) throw new Error(`no control socket at ${p.socket}`);
    return p;
  }

  /**
   * A `status` request while the program idles at its loop head: its control
   * thread, lazy until the first request, starts there. Tests that request a
   * patch while a job is in flight need the thread already serving, or the
   * first point reached after the request would only start the thread (and
   * the patch would be pending from the next point on).
   */
  async startControlThread(): Promise<void> {
    expect(await control(this.socket, "status")).toMatch(/^ok program=/);
  }

  async quit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.exit) {
      this.send("QUIT");
      const t = setTimeout(() => this.proc.kill("SIGKILL"), 5000);
      await this.exited;
      clearTimeout(t);
    }
    return this.exit!;
  }
}

const running = new Set<Prog>();

/** One request on the process's control socket (then SIGURG to its pid), one line back. */
function control(sock: string, request: string, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect(sock);
    let buf = "";
    let done = false;
    const finish = (f: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      c.destroy();
      f();
    };
    const timer = setTimeout(
      () => finish(() => reject(new Error(`no reply to '${request}' within ${timeoutMs} ms (has the process reached an update point since the request?)`))),
      timeoutMs,
    );
    c.setEncoding("utf8");
    // The line, then SIGURG: the runtime starts its control thread at the next update point.
    c.on("connect", () =>
      c.write(request + "\n", (e) => {
        if (!e) signalControlRequest(controlSocketPid(sock));
      }),
    );
    c.on("data", (d: string) => {
      buf += d;
      const i = buf.indexOf("\n");
      if (i >= 0) finish(() => resolve(buf.slice(0, i)));
    });
    c.on("error", (e) => finish(() => reject(e)));
    c.on("close", () => finish(() => reject(new Error(`connection closed without a reply to '${request}': '${buf}'`))));
  });
}

type Reply =
  | { kind: "applied"; pauseUs: number; point: number; sequence: number; version: string; raw: string }
  | { kind: "refused"; code: string; reason: string; raw: string };

function parseReply(raw: string): Reply {
  const a = /^applied pause_us=(\d+) point=(\d+) sequence=(\d+) version=([0-9a-f]{64}) threads=\d+ waited_us=\d+$/.exec(raw);
  if (a) return { kind: "applied", pauseUs: Number(a[1]), point: Number(a[2]), sequence: Number(a[3]), version: a[4], raw };
  const r = /^refused (\S+) (.*)$/.exec(raw);
  if (r) return { kind: "refused", code: r[1], reason: r[2], raw };
  throw new Error(`unexpected reply: ${raw}`);
}

async function apply(p: Prog, patchDir: string, timeoutMs: number): Promise<Reply> {
  return parseReply(await control(p.socket, `apply ${path.resolve(patchDir)} ${timeoutMs}`, timeoutMs + 30_000));
}

/** The points a timeout refusal names: "not every thread reached a safe update point within T ms (0 of 1 waiting); main thread (tid N): point 3 (unsafe for this patch, 12 times), ..." */
function reachedPoints(reason: string): { id: number; why: string; count: number }[] | null {
  const m = /^not every thread reached a safe update point within \d+ ms \(\d+ of \d+ waiting\);(.*)$/.exec(reason);
  if (!m) return null;
  if (/: reached no update point$/.test(m[1])) return [];
  const out = [...m[1].matchAll(/ point (\d+) \((unsafe for this patch|under a held call of main), (\d+) times?\)/g)].map((x) => ({ id: Number(x[1]), why: x[2], count: Number(x[3]) }));
  // A wait in a blocking call: point 0, and only ever unsafe here (a safe one would have parked).
  for (const x of m[1].matchAll(/ blocked in [^(,;]+ \(([^)]*)\)/g)) out.push({ id: 0, why: x[1], count: 1 });
  return out.length ? out : null;
}

// ---- the suite -------------------------------------------------------------------

const timings: string[] = [];

describe.skipIf(!haveToolchain())("updateability analysis (issue 5)", () => {
  beforeAll(() => {
    work = mkdtempSync(path.join(os.tmpdir(), "graft-safety-"));
    runtimeDir = mkdtempSync(path.join(os.tmpdir(), "graft-rt-"));
  });

  afterAll(() => {
    for (const p of running) p.proc.kill("SIGKILL");
    if (timings.length) console.log(`safety: analysis and patch generation times\n  ${timings.join("\n  ")}`);
    if (!process.env.GRAFT_KEEP_WORK) {
      rmSync(work, { recursive: true, force: true });
      rmSync(runtimeDir, { recursive: true, force: true });
    } else console.log(`safety: work directory kept: ${work}`);
  });

  // ---------------------------------------------------------------------------------
  describe("jobq: an unsafe point in the middle of a job, a safe one at the loop head", () => {
    const fx = (f: string) => path.join(FIXTURES, "jobq", f);
    const src = fx("v0.c");
    let base: Awaited<ReturnType<typeof compile>>;
    let typeP: PatchResult, sigP: PatchResult, bodyP: PatchResult;
    let mid: VersionData["updatePoints"][number], head: VersionData["updatePoints"][number];

    beforeAll(async () => {
      base = await compile("jobq", await stage("jobq-v0", "jobq", readFileSync(src, "utf8")), path.join(work, "jobq-out0"));
      timings.push(`jobq: compile ${secs(base.ms)}`);
      mid = pointIn(base.versionData, "process");
      head = pointIn(base.versionData, "main__loop1");
      const mk = async (file: string, dir: string) => {
        const r = await patch("jobq", base.outDir, await stage(dir, "jobq", readFileSync(fx(file), "utf8")), path.join(work, `${dir}-patch`));
        timings.push(`jobq: patch ${file} ${secs(r.ms)}`);
        return r;
      };
      [typeP, sigP] = await Promise.all([mk("v1-type.c", "jobq-v1"), mk("v2-signature.c", "jobq-v2")]);
      bodyP = await mk("v3-body.c", "jobq-v3");
    });

    it("version data: what may run after each point", () => {
      expect(mid).toMatchObject({ file: "jobq.c", line: lineOf(src, "@point-mid"), restarts: false });
      expect(mid.typesUsedAfter).toEqual(["job"]);
      expect(mid.typeUseSites).toEqual({ job: `jobq.c:${lineOf(src, "@use-after-mid")}` });
      expect(mid.functionsCalledAfter).toContain("jobq_c__score");
      // The head of the extracted loop body restarts: nothing of the old body runs after it.
      expect(head).toMatchObject({ file: "jobq.c", line: lineOf(src, "@point-head"), restarts: true, typesUsedAfter: [] });
      expect(head.functionsCalledAfter).not.toContain("jobq_c__score");
    });

    it("a patch changing struct job: unsafe in the middle of the job (type and file:line named), safe at the loop head", () => {
      const m = typeP.manifest;
      expect(m.types.find((t) => t.key === "job")?.status).toBe("changed");
      expect(m.safety.find((s) => s.id === mid.id)).toMatchObject({
        id: mid.id, file: "jobq.c", line: mid.line, function: "process", safe: false,
        reasons: [`unsafe: struct job is used at jobq.c:${lineOf(src, "@use-after-mid")} after this point, by code that keeps running the old layout`],
      });
      expect(m.safety.find((s) => s.id === head.id)).toMatchObject({ safe: true, reasons: [] });
      expect(m.warnings.join("\n")).not.toMatch(/no update point/);
    });

    it("a patch changing score()'s signature: unsafe in the middle of the job (score() is called after it), safe at the loop head", () => {
      const m = sigP.manifest;
      expect(m.functions.find((f) => f.name === "score")?.status).toBe("signature");
      expect(m.safety.find((s) => s.id === mid.id)).toMatchObject({
        safe: false,
        reasons: ["unsafe: score() changes signature and is called after this point by code that passes the old arguments"],
      });
      expect(m.safety.find((s) => s.id === head.id)).toMatchObject({ safe: true, reasons: [] });
    });

    it("a patch changing only function bodies: safe at both points", () => {
      expect(bodyP.manifest.safety.map((s) => s.safe)).toEqual([true, true]);
    });

    it("runtime: the struct job patch, requested while a job is in flight, is applied only at the loop head; the job finishes on the old code", async () => {
      const p = await Prog.start(base.executable);
      await p.startControlThread();
      p.send("JOB 1 10 0");
      expect(await p.next(/^done 1 /)).toBe("done 1 v0 result=31"); // 10*3 + 1
      p.send("JOB 2 10 1200");
      await p.next(/^start 2$/);
      const reply = await apply(p, typeP.patchDir, 10_000);
      expect(reply).toMatchObject({ kind: "applied", point: head.id, sequence: 1, version: typeP.manifest.target });
      // The middle point was reached while the patch waited, and skipped.
      expect(p.stderrText).toContain(`point ${mid.id} unsafe for the pending patch: waiting for the next one`);
      expect(p.stderrText).toContain(`applied at point ${head.id} `);
      expect(p.stderrText).not.toContain(`applied at point ${mid.id} `);
      // The job in flight ran to its end on the old code and the old layout...
      expect(await p.next(/^done 2 /)).toBe("done 2 v0 result=32");
      // ... and the next one on the new code: priority 2, the new field.
      p.send("JOB 3 10 0");
      expect(await p.next(/^done 3 /)).toBe("done 3 v1 result=63"); // 10*3*2 + 3
      p.send("STATUS");
      expect(await p.next(/^status /)).toBe("status jobs=3 total=126 version=v1");
      expect(await control(p.socket, "status")).toMatch(new RegExp(`^ok program=jobq version=${typeP.manifest.target} sequence=1 patches=1 `));
      expect(await p.quit()).toEqual({ code: 0, signal: null });
    });

    it("runtime: the signature patch is applied only at the loop head; the job in flight keeps calling the old score()", async () => {
      const p = await Prog.start(base.executable);
      await p.startControlThread();
      p.send("JOB 1 10 1200");
      await p.next(/^start 1$/);
      const reply = await apply(p, sigP.patchDir, 10_000);
      expect(reply).toMatchObject({ kind: "applied", point: head.id, sequence: 1 });
      expect(p.stderrText).toContain(`point ${mid.id} unsafe for the pending patch`);
      expect(await p.next(/^done 1 /)).toBe("done 1 v0 result=31");
      p.send("JOB 2 10 0");
      expect(await p.next(/^done 2 /)).toBe("done 2 v2 result=1032"); // 10*3 + 1000 + 2
      expect(await p.quit()).toEqual({ code: 0, signal: null });
    });

    it("runtime, for contrast: a body-only patch requested while a job is in flight is applied in the middle of the job", async () => {
      const p = await Prog.start(base.executable);
      await p.startControlThread();
      p.send("JOB 1 10 1200");
      await p.next(/^start 1$/);
      const reply = await apply(p, bodyP.patchDir, 10_000);
      expect(reply).toMatchObject({ kind: "applied", point: mid.id, sequence: 1 });
      expect(p.stderrText).not.toContain("unsafe for the pending patch");
      // The rest of the job already calls the new score() and label() through their slots.
      expect(await p.next(/^done 1 /)).toBe("done 1 v3 result=71"); // 10*7 + 1
      expect(await p.quit()).toEqual({ code: 0, signal: null });
    });
  });

  // ---------------------------------------------------------------------------------
  describe("pump: a type used by a long-running loop that is not extracted", () => {
    const fx = (f: string) => path.join(FIXTURES, "pump", f);
    const src = fx("v0.c");
    let base: Awaited<ReturnType<typeof compile>>;
    let typeP: PatchResult, bodyP: PatchResult;
    let tick: VersionData["updatePoints"][number];

    beforeAll(async () => {
      base = await compile("pump", await stage("pump-v0", "pump", readFileSync(src, "utf8")), path.join(work, "pump-out0"));
      timings.push(`pump: compile ${secs(base.ms)}`);
      tick = pointIn(base.versionData, "checkpoint");
      const mk = async (file: string, dir: string) => {
        const r = await patch("pump", base.outDir, await stage(dir, "pump", readFileSync(fx(file), "utf8")), path.join(work, `${dir}-patch`));
        timings.push(`pump: patch ${file} ${secs(r.ms)}`);
        return r;
      };
      [typeP, bodyP] = await Promise.all([mk("v1-type.c", "pump-v1"), mk("v2-body.c", "pump-v2")]);
    });

    it("the loop is not extracted: after the point, the whole loop of run() may run, and it uses struct job", () => {
      expect(base.versionData.functions.some((f) => f.extractedFrom)).toBe(false);
      expect(tick).toMatchObject({ line: lineOf(src, "@point-tick"), restarts: false, typesUsedAfter: ["job"] });
      expect(tick.typeUseSites).toEqual({ job: `pump.c:${lineOf(src, "@use-loop")}` });
    });

    it("the patch's manifest: no point is safe, with the reason and a warning", () => {
      const m = typeP.manifest;
      expect(m.safety).toMatchObject([{
        id: tick.id, file: "pump.c", line: tick.line, function: "checkpoint", safe: false,
        reasons: [`unsafe: struct job is used at pump.c:${lineOf(src, "@use-loop")} after this point, by code that keeps running the old layout`],
      }]);
      expect(m.warnings).toContain("no update point of the running program is safe for this patch: it will be refused at apply time unless the loop that holds the point is moved into its own function");
      expect(bodyP.manifest.safety).toMatchObject([{ id: tick.id, safe: true }]);
    });

    it("runtime: refused after the timeout, naming the point and why; the process keeps working, and a body-only patch then applies", async () => {
      const p = await Prog.start(base.executable);
      p.send("JOB 1 10");
      expect(await p.next(/^done 1 /)).toBe("done 1 v0 result=20");
      const t0 = Date.now();
      const pending = apply(p, typeP.patchDir, 800);
      // While the request waits, the program serves as usual.
      await sleep(200);
      p.send("JOB 2 7");
      expect(await p.next(/^done 2 /)).toBe("done 2 v0 result=14");
      const reply = await pending;
      const waited = Date.now() - t0;
      expect(reply.kind).toBe("refused");
      if (reply.kind !== "refused") return;
      expect(reply.code).toBe("timeout");
      // Its wait for the next line (read() from next_line(), whose caller's loop uses the type) is unsafe too.
      // In whichever order the thread met them.
      const entry = `( blocked in [^(,;]+ \\([^)]*\\)| point ${tick.id} \\(unsafe for this patch, \\d+ times\\))`;
      expect(reply.reason).toMatch(new RegExp(`^not every thread reached a safe update point within 800 ms \\(0 of 1 waiting\\); main thread \\(tid \\d+\\):${entry}(,${entry})?$`));
      expect(reply.reason).toContain(`point ${tick.id} (unsafe for this patch,`);
      expect(waited).toBeGreaterThanOrEqual(800);
      expect(p.stderrText).toContain(`refused timeout: not every thread reached a safe update point within 800 ms`);
      // Unharmed: same version, same code, same state.
      expect(await control(p.socket, "status")).toMatch(new RegExp(`^ok program=pump version=${base.versionData.digest} sequence=0 patches=0 `));
      p.send("JOB 3 10");
      expect(await p.next(/^done 3 /)).toBe("done 3 v0 result=20");
      p.send("STATUS");
      expect(await p.next(/^status /)).toBe("status jobs=3 total=54 version=v0");
      // A patch that leaves struct job alone applies: at the same point, or while the loop waits for its next line (point 0).
      const body = await apply(p, bodyP.patchDir, 5000);
      expect(body).toMatchObject({ kind: "applied", sequence: 1 });
      expect(body.kind === "applied" && [tick.id, 0]).toContain(body.kind === "applied" ? body.point : -1);
      p.send("JOB 4 10");
      expect(await p.next(/^done 4 /)).toBe("done 4 v2 result=50");
      p.send("STATUS");
      expect(await p.next(/^status /)).toBe("status jobs=4 total=104 version=v2");
      expect(await p.quit()).toEqual({ code: 0, signal: null });
    });
  });

  // ---------------------------------------------------------------------------------
  describe("stress: 1000 update requests at random moments against one process", () => {
    const N_STEPS = 45;
    const N_REQUESTS = 1000;
    const template = readFileSync(path.join(FIXTURES, "stress", "stress.c.in"), "utf8");
    /** Steps into versions 5, 10, ... change struct rec (rec.spare flips between int and long). */
    const structStep = (v: number) => v > 0 && v % 5 === 0;
    const spareType = (v: number) => (Math.floor(v / 5) % 2 ? "long" : "int");
    /** Version v's source; its unsafe variant adds a field to struct rec, which op() uses after its update point. */
    const versionSource = (v: number, unsafeVariant: boolean) => {
      // The header comment names the placeholders: only the code after it is filled in.
      const cut = template.indexOf("*/") + 2;
      return template.slice(0, cut) + template.slice(cut).replaceAll("@STEP@", String(v)).replaceAll("@SPARE_TYPE@", spareType(v))
        .replaceAll("@EXTRA@", unsafeVariant ? "\n    int extra; /* the unsafe variant's new field */" : "");
    };
    const useAfterOp = () => `stress.c:${template.split("\n").findIndex((l) => l.includes("@use-after-op")) + 1}`;

    /** Runs at most n builds at once, in the order they were asked for. */
    function limiter(n: number) {
      let active = 0;
      const queue: (() => void)[] = [];
      return async <T>(f: () => Promise<T>): Promise<T> => {
        if (active < n) active++;
        else await new Promise<void>((ok) => queue.push(ok));
        try {
          return await f();
        } finally {
          const next = queue.shift();
          if (next) next();
          else active--;
        }
      };
    }

    /** A seeded generator (mulberry32), so that a failing run can be replayed with GRAFT_STRESS_SEED. */
    function rng(seed: number) {
      let a = seed >>> 0;
      const next = () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      };
      return { next, int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)) };
    }

    it("zero crashes, never an update at an unsafe point, state intact", async () => {
      const seed = Number(process.env.GRAFT_STRESS_SEED ?? Date.now() % 1_000_000);
      const rand = rng(seed);
      const t0 = performance.now();

      // ---- the chain of versions, built in the background, two builds at a time --------
      const base = await compile("stress", await stage("stress-v0", "stress", versionSource(0, false)), path.join(work, "stress-out0"));
      timings.push(`stress: compile ${secs(base.ms)}`);
      const limit = limiter(2);
      const S: Promise<PatchResult & { ms: number }>[] = [];
      const U: Promise<PatchResult & { ms: number }>[] = [];
      let baseDir: Promise<string> = Promise.resolve(base.outDir);
      for (let v = 1; v <= N_STEPS; v++) {
        const from = baseDir;
        S[v] = from.then((dir) => limit(async () => patch("stress", dir, await stage(`stress-v${v}`, "stress", versionSource(v, false)), path.join(work, `stress-s${v}`))));
        U[v] = from.then((dir) => limit(async () => patch("stress", dir, await stage(`stress-u${v}`, "stress", versionSource(v - 1, true)), path.join(work, `stress-u${v}`))));
        baseDir = S[v].then((r) => r.patchDir);
        // Failures surface where the step awaits them.
        S[v].catch(() => {});
        U[v].catch(() => {});
      }
      const chainBuilt = Promise.all([...S.slice(1), ...U.slice(1)]).then(() => performance.now() - t0);
      chainBuilt.catch(() => {});

      // ---- one process, the whole run ---------------------------------------------------
      const p = await Prog.start(base.executable, {
        keepStderr: false,
        countErr: { skipped: /unsafe for the pending patch: waiting for the next one$/, applied: /applied at point \d+ in \d+ us, \d+ threads? parked$/ },
      });
      const nStruct = Array.from({ length: N_STEPS }, (_, i) => i + 1).filter(structStep).length;
      const uTotal = N_REQUESTS - N_STEPS - nStruct;
      const uCount = (v: number) => Math.floor(uTotal / N_STEPS) + (v <= uTotal % N_STEPS ? 1 : 0);
      const st = {
        requests: 0, applied: 0, appliedAtHead: 0, appliedBlocked: 0, appliedAtOp: 0, appliedAtOpStructStep: 0,
        refusedUnsafeVariant: 0, refusedSafeStepShortTimeout: 0, refusedNothingReached: 0, unsafeHitsInRefusals: 0,
        pausesUs: [] as number[],
      };
      let vd = base.versionData;
      const runT0 = performance.now();

      const checkRefusal = (r: Reply, unsafe: Set<number>, what: string) => {
        expect(r.kind, `${what}: ${r.raw}`).toBe("refused");
        if (r.kind !== "refused") return;
        expect(r.code, `${what}: ${r.raw}`).toBe("timeout");
        const reached = reachedPoints(r.reason);
        expect(reached, `${what}: ${r.raw}`).not.toBeNull();
        for (const q of reached!) {
          // Point 0: a wait in a call, refused as unsafe or as not known to be safe (a safe one would have parked).
          expect(q.id === 0 || (unsafe.has(q.id) && q.why === "unsafe for this patch"), `${what}: point ${q.id} reached but the manifest says it is safe: ${r.raw}`).toBe(true);
          st.unsafeHitsInRefusals += q.count;
        }
        if (!reached!.length) st.refusedNothingReached++;
      };

      for (let v = 1; v <= N_STEPS; v++) {
        const [s, u] = await Promise.all([S[v], U[v]]);
        const op = pointIn(vd, "op"), head = pointIn(vd, "main__loop1");
        const known = new Set(vd.updatePoints.map((q) => q.id));
        const sUnsafe = unsafeIds(s.manifest), uUnsafe = unsafeIds(u.manifest);
        // The manifests say what the runtime must do.
        expect(u.manifest.safety.find((q) => q.id === op.id)?.reasons).toEqual([
          `unsafe: struct rec is used at ${useAfterOp()} after this point, by code that keeps running the old layout`,
        ]);
        expect([...uUnsafe]).toEqual([op.id]);
        expect([...sUnsafe]).toEqual(structStep(v) ? [op.id] : []);

        // A long job: only op()'s point is reached. The unsafe variant must be refused, every time.
        p.send("HOLD");
        await p.next(/^holding$/);
        for (let i = 0; i < uCount(v); i++) {
          await sleep(rand.int(0, 10));
          const r = await apply(p, u.patchDir, rand.int(1, 60));
          st.requests++;
          checkRefusal(r, uUnsafe, `step ${v}, unsafe variant`);
          st.refusedUnsafeVariant++;
        }
        // A step that changes struct rec cannot be applied inside the long job either.
        if (structStep(v)) {
          const r = await apply(p, s.patchDir, rand.int(20, 80));
          st.requests++;
          checkRefusal(r, sUnsafe, `step ${v}, safe step with a short timeout during the long job`);
          st.refusedSafeStepShortTimeout++;
        }
        // The next step: requested during the long job and released at a random moment, or requested at a random moment after it.
        let r: Reply;
        if (rand.next() < 0.5) {
          const pending = apply(p, s.patchDir, 10_000);
          await sleep(rand.int(0, 120));
          p.send("RELEASE");
          r = await pending;
          await p.next(/^released$/);
        } else {
          p.send("RELEASE");
          await p.next(/^released$/);
          await sleep(rand.int(0, 30));
          r = await apply(p, s.patchDir, 10_000);
        }
        st.requests++;
        expect(r.kind, `step ${v}: ${r.raw}`).toBe("applied");
        if (r.kind !== "applied") return;
        expect(sUnsafe.has(r.point), `step ${v} applied at point ${r.point}, which its manifest says is unsafe`).toBe(false);
        // Point 0: the main thread waiting in poll/read in command(), which only a step that leaves struct rec alone finds safe (hold() uses the record after it).
        expect(known.has(r.point) || (r.point === 0 && !structStep(v)), `step ${v} applied at point ${r.point}, not a point of the running version nor a safe wait`).toBe(true);
        expect([r.sequence, r.version]).toEqual([v, s.manifest.target]);
        st.applied++;
        st.pausesUs.push(r.pauseUs);
        if (r.point === head.id) st.appliedAtHead++;
        else if (r.point === 0) st.appliedBlocked++;
        else {
          st.appliedAtOp++;
          if (structStep(v)) st.appliedAtOpStructStep++;
        }
        vd = s.versionData;
        if (v % 9 === 0 || v === N_STEPS) {
          p.send("STATUS");
          const line = await p.next(/^status /);
          expect(line, `after step ${v}`).toMatch(new RegExp(`^status step=${v} ops=\\d+ count=\\d+ sum=\\d+ sumk=\\d+ spare=\\d+ ok=1$`));
        }
      }
      const runMs = performance.now() - runT0;

      // ---- the end: the same process, every step applied, invariants intact --------------
      expect(p.exit).toBeNull();
      expect(st.requests).toBe(N_REQUESTS);
      expect(await control(p.socket, "status")).toMatch(new RegExp(`^ok program=stress version=${vd.digest} sequence=${N_STEPS} patches=${N_STEPS} `));
      expect(st.appliedAtOpStructStep).toBe(0);
      const ops = Number(/ops=(\d+)/.exec(p.lines.filter((l) => l.startsWith("status ")).at(-1)!)![1]);
      expect(ops).toBeGreaterThan(1000);
      expect(await p.quit()).toEqual({ code: 0, signal: null });
      expect(p.lines.at(-1)).toMatch(new RegExp(`^status step=${N_STEPS} ops=\\d+ count=\\d+ sum=\\d+ sumk=\\d+ spare=\\d+ ok=1$`));
      expect(p.errCounts.get("applied")).toBe(N_STEPS);

      const built = await chainBuilt;
      const times = async (ps: Promise<{ ms: number }>[]) => (await Promise.all(ps.slice(1))).map((x) => x.ms).sort((a, b) => a - b);
      const [sMs, uMs] = await Promise.all([times(S), times(U)]);
      const q = (a: number[]) => `min ${secs(a[0])}, median ${secs(a[Math.floor(a.length / 2)])}, max ${secs(a[a.length - 1])}`;
      const pauses = [...st.pausesUs].sort((a, b) => a - b);
      timings.push(`stress: ${N_STEPS} step patches (chained), ${q(sMs)}; ${N_STEPS} unsafe variants, ${q(uMs)}; whole chain ${secs(built)} (2 builds at a time, alongside the run)`);
      console.log(
        `safety stress (seed ${seed}): ${st.requests} requests in ${secs(runMs)}: ` +
          `${st.applied} applied (${st.appliedAtHead} at the loop head, ${st.appliedAtOp} in op(), none of them a struct rec step, ${st.appliedBlocked} while waiting in command()), ` +
          `${st.refusedUnsafeVariant} unsafe variants refused, ${st.refusedSafeStepShortTimeout} struct rec steps refused within a long job, ` +
          `${st.refusedNothingReached} refusals with no point reached; unsafe point hits named in refusals ${st.unsafeHitsInRefusals}, ` +
          `skips logged by the runtime ${p.errCounts.get("skipped") ?? 0}; pause median ${pauses[Math.floor(pauses.length / 2)]} us, max ${pauses.at(-1)} us; ` +
          `ops ${ops}; zero crashes`,
      );
    }, 280_000);
  });

  // ---------------------------------------------------------------------------------
  it("the analysis' cost on the sample programs", async () => {
    const programs: { name: string; cwd: string; files: string[] }[] = [
      { name: "jobq", cwd: path.join(FIXTURES, "jobq"), files: ["v0.c"] },
      { name: "pump", cwd: path.join(FIXTURES, "pump"), files: ["v0.c"] },
      { name: "stress", cwd: path.join(work, "stress-v0"), files: ["stress.c"] },
      { name: "kvd v0", cwd: path.join(REPO, "native/examples/kvd/v0"), files: ["main.c", "proto.c", "store.c"] },
      { name: "httpd v0", cwd: path.join(REPO, "native/examples/httpd/v0"), files: ["main.c", "http.c", "handlers.c", "kv.c"] },
    ].filter((p) => p.files.every((f) => existsSync(path.join(p.cwd, f))));
    const rows: string[] = [];
    for (const prog of programs) {
      const t0 = performance.now();
      const program = await parseProgram({ files: prog.files, cflags: [...CFLAGS, "-D_POSIX_C_SOURCE=200809L"], cwd: prog.cwd, workDir: path.join(work, "analysis", prog.name.replace(/\W/g, "_")) });
      const t1 = performance.now();
      const facts = collectFacts(program, await libcExports());
      const t2 = performance.now();
      let points = 0;
      for (const tu of program.units) {
        for (const pt of tu.updatePoints) {
          const holder = pt.fn.name === "main" ? facts.mains.find((m) => m.fn === pt.fn) : facts.functions.get(unameOf(pt.fn, tu));
          if (!holder) continue;
          analysePoint(facts, holder, pt.restarts ? pt.fn.end : (pt.call.range?.begin.offset ?? 0));
          points++;
        }
      }
      const t3 = performance.now();
      expect(points).toBeGreaterThan(0);
      rows.push(`${prog.name.padEnd(9)} ${String(prog.files.length).padStart(2)} file(s), ${String(facts.functions.size + facts.mains.length).padStart(3)} functions, ${points} point(s): ` +
        `parse (clang) ${(t1 - t0).toFixed(0)} ms, facts ${(t2 - t1).toFixed(1)} ms, per-point analysis ${(t3 - t2).toFixed(2)} ms`);
    }
    console.log(`safety: the analysis' cost\n  ${rows.join("\n  ")}`);
  });
});
