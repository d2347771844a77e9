/**
 * Runs the compilers and binutils that work on a program's sources. On the
 * dashboard's worker the sources are untrusted (`#include "/etc/passwd"`,
 * `.incbin`, an include of the database that holds the signing key), so there
 * every run goes through bubblewrap: the tool sees /usr, Graft's runtime
 * headers and library, and the job's own directory (minus what the job hides,
 * its key files), with no network and no other process. Elsewhere (the CLI,
 * on the user's own sources) tools run directly.
 *
 * The policy comes from the environment the worker gives its job processes:
 *   GRAFT_SANDBOX=bwrap            sandbox every tool run (refuse if bwrap is missing)
 *   GRAFT_SANDBOX_WRITABLE=DIR:..  directories the tools may read and write
 *   GRAFT_SANDBOX_HIDE=DIR:..      directories inside those that they must not see
 */
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { open } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { GraftError } from "../model/diagnostics.js";

const exec = promisify(execFile);

const RUNTIME_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../native/runtime");

export interface SandboxPolicy {
  writable: string[];
  hidden: string[];
}

export interface ToolOptions {
  cwd?: string;
  maxBuffer?: number;
  /** Write the tool's output to this file instead of a string (clang's JSON AST of a big unit does not fit in one). */
  stdoutFile?: string;
}

const dirs = (v: string | undefined) => (v ?? "").split(":").filter(Boolean).map((d) => path.resolve(d));

/** The sandbox the environment asks for, if any. */
export function sandboxPolicy(env: Record<string, string | undefined> = process.env): SandboxPolicy | undefined {
  const kind = env.GRAFT_SANDBOX ?? "";
  if (kind === "" || kind === "off") return undefined;
  if (kind !== "bwrap") {
    const message = `GRAFT_SANDBOX=${kind}: expected bwrap or off`;
    throw new GraftError(message, [{ code: 3012, category: "error", message }]);
  }
  return { writable: dirs(env.GRAFT_SANDBOX_WRITABLE), hidden: dirs(env.GRAFT_SANDBOX_HIDE) };
}

/** Processes a sandboxed tool may have at once: gcc's driver, cc1, as and collect2 with room to spare. */
export const SANDBOX_PROCESSES = 64;

const BWRAP = ["/usr/bin/bwrap", "/bin/bwrap"].find((p) => existsSync(p));

/** bwrap's arguments for one run of `cmd` under `policy`. */
export function bwrapArgs(policy: SandboxPolicy, cmd: string, args: string[], cwd: string | undefined): string[] {
  const out = [
    "--ro-bind", "/usr", "/usr",
    // Debian's merged /usr: the loader and the shells are found through these.
    "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
    "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
  ];
  for (const d of [path.join(RUNTIME_DIR, "include"), path.join(RUNTIME_DIR, "build")]) if (existsSync(d)) out.push("--ro-bind", d, d);
  for (const d of policy.writable) out.push("--bind", d, d);
  for (const d of policy.hidden) out.push("--tmpfs", d);
  out.push(
    "--unshare-all", "--die-with-parent", "--new-session",
    "--clearenv", "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "LC_ALL", "C", "--setenv", "TMPDIR", "/tmp",
  );
  if (cwd) out.push("--chdir", path.resolve(cwd));
  // A tool that forks without end (a compromised compiler) runs out of
  // processes in its own user namespace, not the machine's pids. The kernel
  // does not hold root to RLIMIT_NPROC: a worker run as root is bounded by the
  // pid namespace dying with the job (its wall clock) alone.
  out.push("--", "/usr/bin/prlimit", `--nproc=${SANDBOX_PROCESSES}`, "--", cmd, ...args);
  return out;
}

/**
 * The sandbox the environment asks for, checked before any work: a setting
 * that names no sandbox, or bubblewrap missing, stops the build with its
 * reason (never a fallback to running untrusted sources unsandboxed).
 */
export function readySandbox(env: Record<string, string | undefined> = process.env): SandboxPolicy | undefined {
  const policy = sandboxPolicy(env);
  if (policy && !BWRAP) {
    const message = "GRAFT_SANDBOX=bwrap, but bubblewrap is not installed (Debian: apt-get install bubblewrap): nothing was compiled";
    throw new GraftError(message, [{ code: 3012, category: "error", message }]);
  }
  return policy;
}

/** Runs a tool on the program's files: directly, or inside the sandbox the environment asks for. */
export async function runTool(cmd: string, args: string[], opts: ToolOptions = {}): Promise<{ stdout: string; stderr: string }> {
  const policy = readySandbox();
  const [file, argv, cwd] = policy ? [BWRAP!, bwrapArgs(policy, cmd, args, opts.cwd), undefined] : [cmd, args, opts.cwd];
  // bwrap itself gets no environment: it stays in the sandbox as its first
  // process, whose /proc/1/environ the tool can read (--clearenv clears only
  // the tool's), and the worker's holds the database's address and secrets.
  const env = policy ? SANDBOX_HOST_ENV : undefined;
  if (opts.stdoutFile) return toFile(file, argv, cwd, opts.stdoutFile, env);
  return exec(file, argv, { cwd, maxBuffer: opts.maxBuffer, env });
}

const SANDBOX_HOST_ENV = {} as NodeJS.ProcessEnv;

/** Runs with stdout into `out`; rejects like execFile (with `stderr`) when the tool fails. */
async function toFile(file: string, argv: string[], cwd: string | undefined, out: string, env: NodeJS.ProcessEnv | undefined): Promise<{ stdout: string; stderr: string }> {
  const fh = await open(out, "w");
  try {
    return await new Promise((resolve, reject) => {
      const child = spawn(file, argv, { cwd, env, stdio: ["ignore", fh.fd, "pipe"] });
      let stderr = "";
      child.stderr!.on("data", (d: Buffer) => { if (stderr.length < 1 << 20) stderr += d.toString(); });
      child.on("error", reject);
      child.on("close", (code, signal) => {
        if (code === 0) resolve({ stdout: "", stderr });
        else reject(Object.assign(new Error(`${file} exited with ${signal ?? code}`), { stderr, code }));
      });
    });
  } finally {
    await fh.close();
  }
}
