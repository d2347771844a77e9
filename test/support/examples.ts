/**
 * Starting the example programs and what each release is expected to say
 * about itself, for tests that need to tell which version is serving.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import type { AnyExampleVersion, ExampleProgram, ExampleVersion, KvdVersion } from "./build.js";
import { freePort, startServer, type RunningServer } from "./server.js";

/** What `version` answers (without "VERSION "), per kvd release. */
export const KVD_VERSIONS: Record<KvdVersion, string> = {
  v0: "1.0.0-kvd",
  v1: "1.0.1-kvd",
  v2: "1.0.2-kvd",
  v3: "1.0.3-kvd",
};

/** The `Server:` header and `GET /version` body (trimmed) per httpd release; v0 has neither. */
export const HTTPD_SERVER_NAMES: Record<ExampleVersion, string | null> = {
  v0: null,
  v1: "httpd/1",
  v2: "httpd/2",
};

/** The release a version string identifies, or null. */
export function versionFromIdentity(program: ExampleProgram, identity: string | null): AnyExampleVersion | null {
  const table: Partial<Record<AnyExampleVersion, string | null>> = program === "kvd" ? KVD_VERSIONS : HTTPD_SERVER_NAMES;
  for (const v of Object.keys(table) as AnyExampleVersion[]) {
    if (table[v] === identity) return v;
  }
  return null;
}

export interface KvdOptions {
  port?: number;
  /** Item memory limit in megabytes (-m). */
  memoryMb?: number;
  verbose?: boolean;
  env?: NodeJS.ProcessEnv;
}

/**
 * Start on `port`, or on a free port; another process can take a "free" port
 * before the server binds it, so without an explicit port a failed start is
 * retried on a fresh one (three tries).
 */
async function startOnPort(
  fixedPort: number | undefined,
  launch: (port: number) => Promise<RunningServer>,
): Promise<RunningServer> {
  if (fixedPort !== undefined) return launch(fixedPort);
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await launch(await freePort());
    } catch (e) {
      lastError = e;
    }
  }
  throw lastError;
}

/** Start a kvd binary on a free (or the given) port and wait for it. */
export function startKvd(binary: string, opts: KvdOptions = {}): Promise<RunningServer> {
  return startOnPort(opts.port, (port) => {
    const args = ["-p", String(port)];
    if (opts.memoryMb !== undefined) args.push("-m", String(opts.memoryMb));
    if (opts.verbose) args.push("-v");
    return startServer(binary, args, { port, env: opts.env });
  });
}

export interface HttpdOptions {
  port?: number;
  /** Directory served under /static/ (-d); see makeDocroot(). */
  docroot: string;
  /** Idle keep-alive timeout in seconds (-t, v2 and later). */
  idleTimeoutSec?: number;
  verbose?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** Start an httpd binary on a free (or the given) port and wait for it. */
export function startHttpd(binary: string, opts: HttpdOptions): Promise<RunningServer> {
  return startOnPort(opts.port, (port) => {
    const args = ["-p", String(port), "-d", opts.docroot];
    if (opts.idleTimeoutSec !== undefined) args.push("-t", String(opts.idleTimeoutSec));
    if (opts.verbose) args.push("-v");
    return startServer(binary, args, { port, env: opts.env });
  });
}

/** Files makeDocroot() writes, name -> content. */
export const DOCROOT_FILES: Record<string, string> = {
  "hello.txt": "hello from the static directory\n",
  "page.html": "<!DOCTYPE html><html><body><p>static page</p></body></html>\n",
  "data.json": '{"ok":true,"items":[1,2,3]}\n',
  // 64 KiB, to cross socket buffer sizes
  "big.bin": "0123456789abcdef".repeat(4096),
};

/** A fresh temporary directory holding DOCROOT_FILES. */
export async function makeDocroot(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "graft-httpd-docroot-"));
  for (const [name, content] of Object.entries(DOCROOT_FILES)) {
    await writeFile(path.join(dir, name), content);
  }
  return dir;
}
