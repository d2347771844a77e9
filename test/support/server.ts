/**
 * Starting a server process and waiting until its port accepts connections.
 */
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";

/** A free TCP port on 127.0.0.1 (free at the time of the call). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      if (addr === null || typeof addr === "string") {
        srv.close();
        reject(new Error("no port"));
        return;
      }
      const port = addr.port;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves true once a TCP connection to host:port succeeds. */
export function canConnect(port: number, host = "127.0.0.1", timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host });
    const done = (ok: boolean) => {
      sock.removeAllListeners();
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once("connect", () => done(true));
    sock.once("error", () => done(false));
  });
}

export interface StartOptions {
  /** The port the server was told to listen on; startServer waits for it. */
  port: number;
  host?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** How long to wait for the port (default 10 s). */
  readyTimeoutMs?: number;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningServer {
  proc: ChildProcess;
  port: number;
  pid: number;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  /** Everything the server wrote to stdout so far. */
  stdout(): string;
  /** Resolves when the process exits (immediately if it already has). */
  exited: Promise<ExitInfo>;
  /** SIGTERM, then SIGKILL after `graceMs` (default 3 s). Idempotent. */
  stop(graceMs?: number): Promise<ExitInfo>;
}

export class ServerStartError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = "ServerStartError";
  }
}

/**
 * Spawn `cmd args` and wait until `opts.port` accepts TCP connections.
 * Rejects (after killing the process) if it exits first or the wait times out.
 */
export async function startServer(
  cmd: string,
  args: readonly string[],
  opts: StartOptions,
): Promise<RunningServer> {
  const proc = spawn(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let errText = "";
  let outText = "";
  proc.stderr?.on("data", (b: Buffer) => {
    errText += b.toString("utf8");
  });
  proc.stdout?.on("data", (b: Buffer) => {
    outText += b.toString("utf8");
  });
  let exitInfo: ExitInfo | null = null;
  const exited = new Promise<ExitInfo>((resolve) => {
    proc.once("exit", (code, signal) => {
      exitInfo = { code, signal };
      resolve(exitInfo);
    });
    proc.once("error", () => {
      exitInfo = { code: null, signal: null };
      resolve(exitInfo);
    });
  });

  const stop = async (graceMs = 3000): Promise<ExitInfo> => {
    if (exitInfo) return exitInfo;
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
    const info = await exited;
    clearTimeout(timer);
    return info;
  };

  const host = opts.host ?? "127.0.0.1";
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 10_000);
  for (;;) {
    if (exitInfo !== null) {
      const info: ExitInfo = exitInfo;
      throw new ServerStartError(
        `${cmd} exited before listening (code ${info.code}, signal ${info.signal}): ${errText.trim()}`,
        errText,
      );
    }
    if (await canConnect(opts.port, host, 500)) {
      // The port might belong to someone else while our server failed to
      // bind and is exiting: give an exit a moment to show up.
      await new Promise((r) => setTimeout(r, 50));
      if (exitInfo === null) break;
      continue;
    }
    if (Date.now() > deadline) {
      await stop(500);
      throw new ServerStartError(`${cmd} did not accept on port ${opts.port} in time`, errText);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  return {
    proc,
    port: opts.port,
    pid: proc.pid ?? -1,
    stderr: () => errText,
    stdout: () => outText,
    exited,
    stop,
  };
}
