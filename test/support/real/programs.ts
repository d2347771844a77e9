/**
 * The real programs (vsftpd, memcached; /work/shared/real/README.md): how
 * each builds with its own build system, its sources in link order and its
 * compile flags as its build system has them, how to run it, and the same
 * program built updateable by `compileProgram`, patched by `generatePatch`.
 *
 * Stock builds, as measured on Debian 12 / gcc 12:
 * - vsftpd: `make LIBS="-lpam -lcap -lcrypt"` (vsf_findlibs.sh misses
 *   Debian's multiarch libraries). Flags from its Makefile: CFLAGS
 *   `-O2 -Wall -W -Wshadow`, IFLAGS `-idirafter dummyinc`.
 * - memcached: `./autogen.sh && ./configure CFLAGS="-g -O2 -DIOV_MAX=1024"
 *   && make memcached` (today's glibc no longer defines IOV_MAX for it).
 *   Automake compiles with `-DHAVE_CONFIG_H -I. -DNDEBUG` + CFLAGS and links
 *   `-levent`.
 */
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import path from "node:path";

import { compileProgram, type CompileResult } from "../../../lib/compile/index.js";
import { generatePatch, type PatchResult } from "../../../lib/patch/index.js";
import { GRAFT_INCLUDE_DIR } from "../build.js";
import { run } from "../process.js";
import { startServer, type RunningServer } from "../server.js";
import type { RealProgram } from "./unpack.js";

export class RealBuildError extends Error {
  constructor(message: string, readonly log: string) {
    super(`${message}\n${log.split("\n").slice(-40).join("\n")}`);
    this.name = "RealBuildError";
  }
}

/** The Debian packages the builds and clients need, and what each provides. */
export const DEBIAN_PACKAGES: { pkg: string; check: string }[] = [
  { pkg: "autoconf", check: "/usr/bin/autoconf" },
  { pkg: "automake", check: "/usr/bin/automake" },
  { pkg: "libevent-dev", check: "/usr/include/event.h" },
  { pkg: "libpam0g-dev", check: "/usr/include/security/pam_appl.h" },
  { pkg: "libcap-dev", check: "/usr/include/sys/capability.h" },
  { pkg: "libmemcached-tools", check: "/usr/bin/memcslap" },
  { pkg: "curl", check: "/usr/bin/curl" },
  { pkg: "python3", check: "/usr/bin/python3" },
  { pkg: "make", check: "/usr/bin/make" },
];

/** The Debian packages of DEBIAN_PACKAGES that are not installed. */
export function missingDebianPackages(): string[] {
  return DEBIAN_PACKAGES.filter((p) => !existsSync(p.check)).map((p) => p.pkg);
}

// ------------------------------------------------------------- build facts

/** CFLAGS and IFLAGS of vsftpd's Makefile (the same in 2.0.1-2.0.3). */
export const VSFTPD_CFLAGS: readonly string[] = ["-O2", "-Wall", "-W", "-Wshadow", "-idirafter", "dummyinc"];
export const VSFTPD_LIBS: readonly string[] = ["-lpam", "-lcap", "-lcrypt"];

/** Automake's flags for memcached (DEFS, DEFAULT_INCLUDES, memcached_CPPFLAGS, CFLAGS as configured here). */
export const MEMCACHED_CFLAGS: readonly string[] = ["-DHAVE_CONFIG_H", "-I.", "-DNDEBUG", "-g", "-O2", "-DIOV_MAX=1024"];
export const MEMCACHED_LIBS: readonly string[] = ["-levent"];

/** The program's compile flags plus the include directory of graft.h: what `graft compile`/`graft patch` get. */
export function graftCflags(program: RealProgram): string[] {
  return [...(program === "vsftpd" ? VSFTPD_CFLAGS : MEMCACHED_CFLAGS), `-I${GRAFT_INCLUDE_DIR}`];
}

export function linkLibs(program: RealProgram): string[] {
  return [...(program === "vsftpd" ? VSFTPD_LIBS : MEMCACHED_LIBS)];
}

/** vsftpd's OBJS (its Makefile), as .c files in link order. */
export async function vsftpdSources(dir: string): Promise<string[]> {
  const mk = (await readFile(path.join(dir, "Makefile"), "utf8")).replace(/\\\n/g, " ");
  const m = /^OBJS\s*=\s*(.*)$/m.exec(mk);
  if (!m) throw new Error(`${dir}/Makefile: no OBJS`);
  const files = m[1].trim().split(/\s+/).map((o) => o.replace(/\.o$/, ".c"));
  for (const f of files) if (!existsSync(path.join(dir, f))) throw new Error(`${dir}: OBJS names ${f}, which is missing`);
  return files;
}

/** memcached_SOURCES (its Makefile.am) as .c files in link order, plus daemon.c when configure chose it (LIBOBJS). */
export async function memcachedSources(dir: string): Promise<string[]> {
  const am = (await readFile(path.join(dir, "Makefile.am"), "utf8")).replace(/\\\n/g, " ");
  const m = /^memcached_SOURCES\s*=\s*(.*)$/m.exec(am);
  if (!m) throw new Error(`${dir}/Makefile.am: no memcached_SOURCES`);
  const files = m[1].trim().split(/\s+/).filter((f) => f.endsWith(".c"));
  const config = await readFile(path.join(dir, "config.h"), "utf8").catch(() => "");
  if (config && !/^#define HAVE_DAEMON\b/m.test(config) && existsSync(path.join(dir, "daemon.c"))) files.push("daemon.c");
  return files;
}

export function programSources(program: RealProgram, dir: string): Promise<string[]> {
  return program === "vsftpd" ? vsftpdSources(dir) : memcachedSources(dir);
}

// ------------------------------------------------------------ stock builds

async function sh(cmd: string, args: string[], cwd: string, what: string, timeoutMs = 180_000): Promise<string> {
  const r = await run(cmd, args, { cwd, timeoutMs });
  const log = `$ ${cmd} ${args.join(" ")}\n${r.stdout}${r.stderr}`;
  if (r.code !== 0) throw new RealBuildError(`${what} failed in ${cwd} (exit ${r.code}${r.timedOut ? ", timed out" : ""})`, log);
  return log;
}

/**
 * What memcached needs before any compile: its git tree has no configure, and
 * config.h comes from configure. Idempotent.
 */
export async function configureMemcached(dir: string, opts: BuildOptions = {}): Promise<string> {
  if (existsSync(path.join(dir, "config.h")) && existsSync(path.join(dir, "Makefile"))) return "";
  let log = await sh("sh", ["./autogen.sh"], dir, "memcached autogen.sh");
  log += await sh("sh", ["./configure", ...(opts.threads ? ["--enable-threads"] : []), "CFLAGS=-g -O2 -DIOV_MAX=1024"], dir, "memcached configure");
  return log;
}

/** memcached only: `--enable-threads` (USE_THREADS: a dispatcher and worker threads, each with its own libevent loop). */
export interface BuildOptions {
  threads?: boolean;
}

/** Prepare a release tree for either build (memcached: autogen + configure). */
export async function prepareTree(program: RealProgram, dir: string, opts: BuildOptions = {}): Promise<string> {
  return program === "memcached" ? configureMemcached(dir, opts) : "";
}

export interface StockBuild {
  binary: string;
  log: string;
}

/**
 * Build the release in `dir` with its own build system. A tree that has the
 * update-point edit also needs graft.h on the include path: `withGraftInclude`
 * adds it the way a user would (IFLAGS for vsftpd, CPPFLAGS for memcached),
 * and the macro compiles to nothing.
 */
export async function buildStock(program: RealProgram, dir: string, opts: { withGraftInclude?: boolean } & BuildOptions = {}): Promise<StockBuild> {
  let log = "";
  if (program === "vsftpd") {
    const args = [`LIBS=${VSFTPD_LIBS.join(" ")}`];
    if (opts.withGraftInclude) args.push(`IFLAGS=-idirafter dummyinc -I${GRAFT_INCLUDE_DIR}`);
    log += await sh("make", args, dir, "vsftpd make");
  } else {
    log += await configureMemcached(dir, opts);
    const args = ["memcached"];
    if (opts.withGraftInclude) args.push(`CPPFLAGS=-I${GRAFT_INCLUDE_DIR}`);
    log += await sh("make", args, dir, "memcached make");
  }
  const binary = path.join(dir, program);
  if (!existsSync(binary)) throw new RealBuildError(`${binary} was not built`, log);
  return { binary, log };
}

// ----------------------------------------------------- updateable build, patch

/** `graft compile` of the release in `dir` (prepared: memcached configured) into outDir, with the program's own flags and libraries. */
export async function compileReal(program: RealProgram, dir: string, outDir: string, onProgress?: (m: string) => void, opts: BuildOptions = {}): Promise<CompileResult> {
  await prepareTree(program, dir, opts);
  return compileProgram({
    name: program,
    files: await programSources(program, dir),
    outDir,
    cflags: graftCflags(program),
    ldflags: [...linkLibs(program), ...(opts.threads ? ["-lpthread"] : [])],
    cwd: dir,
    insecureAcceptUnsigned: true,
    ...(onProgress ? { onProgress } : {}),
  });
}

/** `graft patch --from <from>` to the release in `dir` (prepared) into outDir. */
export async function patchReal(program: RealProgram, from: string, dir: string, outDir: string, onProgress?: (m: string) => void, xformFile?: string, opts: BuildOptions = {}): Promise<PatchResult> {
  await prepareTree(program, dir, opts);
  return generatePatch({
    ...(xformFile ? { xformFile } : {}),
    from,
    files: await programSources(program, dir),
    outDir,
    cflags: graftCflags(program),
    ldflags: [...linkLibs(program), ...(opts.threads ? ["-lpthread"] : [])],
    cwd: dir,
    ...(onProgress ? { onProgress } : {}),
  });
}

// -------------------------------------------------------------------- running

/** Pids whose parent is `pid` (from /proc). */
export async function childPids(pid: number): Promise<number[]> {
  const out: number[] = [];
  for (const name of await readdir("/proc").catch(() => [] as string[])) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, "utf8").catch(() => "");
    // pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(rest[1]) === pid) out.push(Number(name));
  }
  return out;
}

export interface RealServer extends RunningServer {
  program: RealProgram;
  /** vsftpd: the anon_root, holding the files FTP clients download. */
  anonRoot?: string;
}

/**
 * vsftpd's session processes are children of the listener and outlive it:
 * stop kills those (by pid, children of this server only) before the listener.
 */
function withChildrenStop(srv: RunningServer, program: RealProgram, extra: Partial<RealServer> = {}): RealServer {
  const stopListener = srv.stop;
  const stop = async (graceMs?: number) => {
    for (const c of await childPids(srv.pid)) {
      try {
        process.kill(c, "SIGKILL");
      } catch {
        // already gone
      }
    }
    return stopListener(graceMs);
  };
  return { ...srv, stop, program, ...extra };
}

/**
 * A user whose home directory exists: vsftpd's one-process anonymous model
 * (chosen when local_enable=NO) chdir()s to ftp_username's home before it
 * goes to anon_root, and Debian's `nobody` has /nonexistent.
 */
export async function ftpUser(): Promise<string> {
  const passwd = await readFile("/etc/passwd", "utf8");
  const users = passwd.split("\n").map((l) => l.split(":")).filter((f) => f.length >= 7);
  for (const want of ["ftp", "daemon", "bin"]) {
    const u = users.find((f) => f[0] === want);
    if (u && u[2] !== "0" && existsSync(u[5])) return want;
  }
  const any = users.find((f) => f[2] !== "0" && f[5] && existsSync(f[5]));
  if (!any) throw new Error("no non-root user with an existing home directory for vsftpd's ftp_username");
  return any[0];
}

export const FTP_FILE = "hello.txt";
/** The download in the anon_root: large enough to take a few data-connection reads. */
export const FTP_FILE_CONTENT = `hello from graft\n${"0123456789abcdef".repeat(4096)}\n`;

/** An anon_root with FTP_FILE, readable after vsftpd drops to ftp_username, and an empty secure_chroot_dir. */
export async function makeFtpDirs(workDir: string): Promise<{ anonRoot: string; emptyDir: string }> {
  const anonRoot = path.join(workDir, "anon");
  const emptyDir = path.join(workDir, "empty");
  await mkdir(anonRoot, { recursive: true });
  await mkdir(emptyDir, { recursive: true });
  await writeFile(path.join(anonRoot, FTP_FILE), FTP_FILE_CONTENT);
  await chmod(anonRoot, 0o755);
  await chmod(emptyDir, 0o755);
  await chmod(path.join(anonRoot, FTP_FILE), 0o644);
  return { anonRoot, emptyDir };
}

/** vsftpd.conf for a standalone, anonymous-only server on 127.0.0.1:port. */
export function vsftpdConfig(o: { port: number; anonRoot: string; emptyDir: string; ftpUser: string }): string {
  return [
    "listen=YES",
    "listen_address=127.0.0.1",
    `listen_port=${o.port}`,
    "background=NO",
    "anonymous_enable=YES",
    "local_enable=NO",
    "write_enable=NO",
    `anon_root=${o.anonRoot}`,
    `secure_chroot_dir=${o.emptyDir}`,
    `ftp_username=${o.ftpUser}`,
    "pasv_enable=YES",
    "",
  ].join("\n");
}

export interface StartRealOptions {
  port: number;
  /** vsftpd: where its config file and FTP directories go. */
  workDir: string;
  env?: NodeJS.ProcessEnv;
  readyTimeoutMs?: number;
}

/** Start vsftpd (stock or updateable) standalone, as root, with a generated config file. */
export async function startVsftpd(binary: string, o: StartRealOptions): Promise<RealServer> {
  const { anonRoot, emptyDir } = await makeFtpDirs(o.workDir);
  const conf = path.join(o.workDir, `vsftpd-${o.port}.conf`);
  await writeFile(conf, vsftpdConfig({ port: o.port, anonRoot, emptyDir, ftpUser: await ftpUser() }), { mode: 0o600 });
  const srv = await startServer(binary, [conf], { port: o.port, env: o.env, readyTimeoutMs: o.readyTimeoutMs, cwd: path.dirname(binary) });
  return withChildrenStop(srv, "vsftpd", { anonRoot });
}

/** Start memcached on 127.0.0.1:port, no UDP, as root (-u root); a build with threads runs o.threads workers (-t). */
export async function startMemcached(binary: string, o: StartRealOptions & { threads?: number }): Promise<RealServer> {
  const srv = await startServer(binary, ["-p", String(o.port), "-U", "0", "-l", "127.0.0.1", "-u", "root", "-m", "64", ...(o.threads ? ["-t", String(o.threads)] : [])], {
    port: o.port,
    env: o.env,
    readyTimeoutMs: o.readyTimeoutMs,
    cwd: path.dirname(binary),
  });
  return withChildrenStop(srv, "memcached");
}

export function startReal(program: RealProgram, binary: string, o: StartRealOptions): Promise<RealServer> {
  return program === "vsftpd" ? startVsftpd(binary, o) : startMemcached(binary, o);
}
