/**
 * The soundness suite, run live: one case per directory of test/cases/live.
 * `v0/` and `v1/` hold two versions of a small program that reads commands
 * on stdin, one per line, and prints what they did (an empty line only
 * reaches the update point). `expect.json` says what must happen when v0,
 * running with the state the `before` commands built, is updated to v1:
 *
 * - "applied": the patch applies, and the `after` commands then print
 *   `output` (the whole of stdout, v0's lines and v1's);
 * - "refused-patch": `graft patch` refuses with `code`;
 * - "refused-apply": the runtime refuses with a reply matching `reply`;
 *
 * and when refused, v0 goes on serving the `after` commands with `output`.
 * A case with a `v2/` goes on: `then` says what must happen when the patch
 * to v2, made `--from` the first patch, is applied after the `after`
 * commands (its own `after`, `outcome`, `code`, `reply`); `output` is then
 * everything the process printed. No case may apply and then print anything
 * else.
 */
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { compileProgram } from "../../lib/compile/index.js";
import { formatDiagnostic, GraftError } from "../../lib/model/diagnostics.js";
import { generatePatch } from "../../lib/patch/index.js";
import { GRAFT_INCLUDE_DIR, REPO_ROOT } from "../support/build.js";
import { applyPatch, sleep, waitForControlSocket, type ApplyReply } from "../support/graft.js";

const CASES_DIR = path.join(REPO_ROOT, "test", "cases", "live");
const CASES = readdirSync(CASES_DIR).sort();
const CFLAGS = ["-O2", "-std=gnu99", `-I${GRAFT_INCLUDE_DIR}`];

interface Step {
  after: string[];
  outcome: "applied" | "refused-patch" | "refused-apply";
  code?: string;
  reply?: string;
}

interface LiveExpectation extends Step {
  why: string;
  before: string[];
  then?: Step;
  output: string[];
}

const sources = (dir: string) => readdirSync(dir).filter((f) => f.endsWith(".c")).sort();

/** The program, fed a line at a time: each command waits until its output has grown by what it printed. */
function launch(exe: string, env: NodeJS.ProcessEnv) {
  const proc = spawn(exe, [], { env, stdio: ["pipe", "pipe", "pipe"] });
  let out = "", err = "";
  proc.stdout.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<string>((ok) => proc.once("exit", (code, signal) => ok(signal ?? `exit ${code}`)));
  const lines = () => out.split("\n").filter((l) => l !== "");
  return {
    proc, exited, lines, stderr: () => err,
    /** Sends one command and waits for its line of output. */
    async command(c: string) {
      const n = lines().length;
      proc.stdin.write(`${c}\n`);
      for (let t = 0; t < 5000 && lines().length === n && proc.exitCode === null; t += 10) await sleep(10);
    },
    /** Applies a patch, sending empty lines so that the program reaches its update point. */
    async apply(patchDir: string): Promise<ApplyReply> {
      let done = false;
      const reply = applyPatch(proc.pid!, patchDir, 5000, env).finally(() => (done = true));
      while (!done && proc.exitCode === null) {
        proc.stdin.write("\n");
        await sleep(50);
      }
      return reply;
    },
  };
}

/** A refusal's diagnostics, or any error, as text. */
function explain(e: unknown): string {
  return e instanceof GraftError ? e.diagnostics.map(formatDiagnostic).join("\n") : String(e);
}

/** One step: the patch to `next` made from `from` and applied, or refused as `step` says. Returns whether it applied. */
async function updateTo(prog: ReturnType<typeof launch>, step: Step, from: string, next: string, patchDir: string): Promise<boolean> {
  const patched = await generatePatch({ from, files: sources(next), outDir: patchDir, cflags: CFLAGS, cwd: next })
    .then((p) => ({ ok: true as const, p }), (e: unknown) => ({ ok: false as const, e }));
  if (step.outcome === "refused-patch") {
    const e = patched.ok ? undefined : patched.e;
    expect(e, "graft patch refuses").toBeInstanceOf(GraftError);
    expect((e as GraftError).diagnostics.map((d) => `GR${d.code}`), explain(e)).toContain(step.code);
    return false;
  }
  if (!patched.ok) throw new Error(`graft patch failed:\n${explain(patched.e)}`);
  const reply = await prog.apply(patched.p.patchDir);
  if (step.outcome === "applied") expect(reply.ok, `${reply.line}\n${prog.stderr()}`).toBe(true);
  else {
    expect(reply.ok, "the runtime refuses").toBe(false);
    expect(reply.line).toMatch(new RegExp(step.reply ?? "."));
  }
  return reply.ok;
}

let work = "";
beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), "graft-live-cases-"));
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe("soundness, live: every accepted update leaves the program right, or it is refused", () => {
  it("has cases", () => expect(CASES.length).toBeGreaterThan(3));
  for (const name of CASES) {
    it(name, async () => {
      const caseDir = path.join(CASES_DIR, name);
      const want = JSON.parse(readFileSync(path.join(caseDir, "expect.json"), "utf8")) as LiveExpectation;
      const v0 = path.join(caseDir, "v0");
      const out = path.join(work, name);
      const env = { ...process.env, GRAFT_RUNTIME_DIR: path.join(out, "rt"), GRAFT_LOG: "stderr" };
      await mkdir(env.GRAFT_RUNTIME_DIR, { recursive: true });
      const built = await compileProgram({ name, files: sources(v0), outDir: path.join(out, "v0"), cflags: CFLAGS, cwd: v0, insecureAcceptUnsigned: true });
      const prog = launch(built.executable, env);
      try {
        await waitForControlSocket(prog.proc.pid!, 5000, env);
        for (const c of want.before) await prog.command(c);

        let from = path.join(out, "v0");
        for (const [i, step] of [want, ...(want.then ? [want.then] : [])].entries()) {
          const next = path.join(caseDir, `v${i + 1}`);
          const patchDir = path.join(out, `patch${i + 1}`);
          const applied = await updateTo(prog, step, from, next, patchDir);
          if (applied) from = patchDir;
          for (const c of step.after) await prog.command(c);
        }
        expect(prog.lines(), `${want.why}\nstderr:\n${prog.stderr()}`).toEqual(want.output);
      } finally {
        prog.proc.kill("SIGKILL");
        await prog.exited;
      }
    }, 120_000);
  }
});
