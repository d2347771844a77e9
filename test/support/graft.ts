/**
 * Graft-specific test support: updateable builds of the example programs and
 * of the small fixture programs in test/fixtures, patch generation between
 * their releases, and the control socket of a running updateable process
 * (docs/control-protocol.md) to apply patches and ask for status.
 */
import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";

import { compileProgram, type CompileResult } from "../../lib/compile/index.js";
import { generatePatch, type PatchResult } from "../../lib/patch/index.js";
import { exampleDir, GRAFT_INCLUDE_DIR, REPO_ROOT, type AnyExampleVersion, type ExampleProgram } from "./build.js";

export const FIXTURES_DIR = path.join(REPO_ROOT, "test", "fixtures");

/** The sources of each example program, in link order (as their Makefiles list them). */
export const EXAMPLE_FILES: Record<ExampleProgram, string[]> = {
  kvd: ["main.c", "proto.c", "store.c"],
  httpd: ["main.c", "http.c", "handlers.c", "kv.c"],
};

/** The flags the examples' Makefiles use (minus warnings and -g), for graft compile and patch. */
export const EXAMPLE_CFLAGS: readonly string[] = ["-O2", "-std=c11", "-D_POSIX_C_SOURCE=200809L", `-I${GRAFT_INCLUDE_DIR}`];

/** Flags for the fixture programs (same dialect as the examples). */
export const FIXTURE_CFLAGS: readonly string[] = EXAMPLE_CFLAGS;

/** Updateable build of one release of an example program into outDir. */
export function compileExample(program: ExampleProgram, version: AnyExampleVersion, outDir: string): Promise<CompileResult> {
  return compileProgram({
    name: program,
    files: EXAMPLE_FILES[program],
    outDir,
    cflags: [...EXAMPLE_CFLAGS],
    cwd: exampleDir(program, version),
    insecureAcceptUnsigned: true,
  });
}

/** The patch from the version whose data is in `from` to release `version` of an example program. */
export function patchExample(
  program: ExampleProgram,
  from: string,
  version: AnyExampleVersion,
  outDir: string,
  opts: { xformFile?: string } = {},
): Promise<PatchResult> {
  return generatePatch({
    from,
    files: EXAMPLE_FILES[program],
    outDir,
    cflags: [...EXAMPLE_CFLAGS],
    cwd: exampleDir(program, version),
    ...(opts.xformFile ? { xformFile: opts.xformFile } : {}),
  });
}

/** test/fixtures/<name>/<version>. */
export function fixtureDir(name: string, version: string): string {
  return path.join(FIXTURES_DIR, name, version);
}

/** The .c files of a directory, sorted. */
export async function cFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith(".c")).sort();
}

/** Updateable build of test/fixtures/<name>/<version> (all its .c files), the program named `name`. */
export async function compileFixture(name: string, version: string, outDir: string, cflags: readonly string[] = FIXTURE_CFLAGS): Promise<CompileResult> {
  const cwd = fixtureDir(name, version);
  return compileProgram({ name, files: await cFiles(cwd), outDir, cflags: [...cflags], cwd, insecureAcceptUnsigned: true });
}

/** The patch from the version whose data is in `from` to test/fixtures/<name>/<version>. */
export async function patchFixture(
  name: string,
  from: string,
  version: string,
  outDir: string,
  opts: { xformFile?: string; cflags?: readonly string[] } = {},
): Promise<PatchResult> {
  const cwd = fixtureDir(name, version);
  return generatePatch({
    from,
    files: await cFiles(cwd),
    outDir,
    cflags: [...(opts.cflags ?? FIXTURE_CFLAGS)],
    cwd,
    ...(opts.xformFile ? { xformFile: opts.xformFile } : {}),
  });
}

// ------------------------------------------------------------ control socket

/** Where the runtime of a process puts its control socket. */
export function controlSocketPath(pid: number, env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.GRAFT_RUNTIME_DIR || path.join("/tmp", `graft-${os.userInfo().uid}`);
  return path.join(dir, `${pid}.sock`);
}

/** Waits until the process's control socket exists (the runtime opens it before main). */
export async function waitForControlSocket(pid: number, timeoutMs = 5000, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const p = controlSocketPath(pid, env);
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(p)) {
    if (Date.now() > deadline) throw new Error(`no control socket at ${p} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return p;
}

/** The pid a control socket belongs to: its file is named `<pid>.sock`. */
export function controlSocketPid(socketPath: string): number {
  const pid = Number(path.basename(socketPath, ".sock"));
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`not a control socket name: ${socketPath}`);
  return pid;
}

/**
 * After writing a request: SIGURG to the process, which starts its control
 * thread at its next update point (docs/control-protocol.md).
 */
export function signalControlRequest(pid: number): void {
  try {
    process.kill(pid, "SIGURG");
  } catch {
    // gone: the connection reports it
  }
}

/** One request line to a process's control socket (then SIGURG); resolves with the reply line. */
export function controlRequest(pid: number, line: string, timeoutMs = 30_000, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const socketPath = controlSocketPath(pid, env);
  return new Promise((resolve, reject) => {
    const sock = net.connect(socketPath);
    let buf = "";
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no reply to '${line}' from ${socketPath} in ${timeoutMs} ms (has the process reached an update point since the request?)`));
    }, timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      sock.destroy();
      const nl = buf.indexOf("\n");
      resolve(nl >= 0 ? buf.slice(0, nl) : buf);
    };
    sock.setEncoding("utf8");
    sock.on("connect", () =>
      sock.write(`${line}\n`, (e) => {
        if (!e) signalControlRequest(pid);
      }),
    );
    sock.on("data", (d: string) => {
      buf += d;
      if (buf.includes("\n")) finish();
    });
    sock.on("end", finish);
    sock.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

export type ApplyReply =
  | { ok: true; pauseUs: number; point: number; sequence: number; version: string; threads: number; waitedUs: number; line: string }
  | { ok: false; code: string; reason: string; line: string };

export function parseApplyReply(line: string): ApplyReply {
  const a = /^applied pause_us=(\d+) point=(\d+) sequence=(\d+) version=(\S+) threads=(\d+) waited_us=(\d+)/.exec(line);
  if (a) return { ok: true, pauseUs: Number(a[1]), point: Number(a[2]), sequence: Number(a[3]), version: a[4], threads: Number(a[5]), waitedUs: Number(a[6]), line };
  const r = /^refused (\S+) ?(.*)$/.exec(line);
  if (r) return { ok: false, code: r[1], reason: r[2], line };
  throw new Error(`unexpected reply to apply: ${JSON.stringify(line)}`);
}

/** Ask process `pid` to apply the patch directory `patchDir` at its next safe update point. */
export async function applyPatch(pid: number, patchDir: string, timeoutMs = 10_000, env: NodeJS.ProcessEnv = process.env): Promise<ApplyReply> {
  const line = await controlRequest(pid, `apply ${path.resolve(patchDir)} ${timeoutMs}`, timeoutMs + 10_000, env);
  return parseApplyReply(line);
}

export interface StatusReply {
  program: string;
  version: string;
  sequence: number;
  patches: number;
  pid: number;
}

/** `status` on the control socket, parsed. */
export async function processStatus(pid: number, env: NodeJS.ProcessEnv = process.env): Promise<StatusReply> {
  const line = await controlRequest(pid, "status", 10_000, env);
  const m = /^ok program=(\S+) version=(\S+) sequence=(\d+) patches=(\d+) pid=(\d+)/.exec(line);
  if (!m) throw new Error(`unexpected reply to status: ${JSON.stringify(line)}`);
  return { program: m[1], version: m[2], sequence: Number(m[3]), patches: Number(m[4]), pid: Number(m[5]) };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
