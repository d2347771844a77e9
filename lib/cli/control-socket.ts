/**
 * Client side of the control socket (docs/control-protocol.md): one request
 * line, one reply line, per connection. After writing its line the client
 * sends the process SIGURG: the runtime starts its control thread only then,
 * at the process's next update point.
 */
import { connect } from "node:net";
import { join } from "node:path";
import type { Environment } from "./context.js";

/** Unix socket paths longer than sun_path (108 bytes on Linux) cannot be connected to. */
const MAX_SOCKET_PATH_BYTES = 107;

export function getRuntimeDir(env: Environment): string {
  return env.GRAFT_RUNTIME_DIR || `/tmp/graft-${process.getuid?.() ?? 0}`;
}

export function getControlSocketPath(pid: number, env: Environment): string {
  return join(getRuntimeDir(env), `${pid}.sock`);
}

/** Why a request got no reply, in words that say what to check. */
export class ControlSocketError extends Error {
  constructor(
    message: string,
    readonly kind: "unreachable" | "timeout" | "no-reply",
  ) {
    super(message);
    this.name = "ControlSocketError";
  }
}

export interface ControlRequest {
  pid: number;
  socketPath: string;
  /** Without the newline. */
  line: string;
  /** Give up waiting for the reply after this long. */
  replyTimeoutMs: number;
}

/**
 * Sends one line, then SIGURG to the pid, and resolves with the reply line
 * (without its newline).
 */
export function sendControlRequest(req: ControlRequest): Promise<string> {
  if (Buffer.byteLength(req.socketPath) > MAX_SOCKET_PATH_BYTES) {
    return Promise.reject(new ControlSocketError(`socket path ${req.socketPath} is longer than a unix socket path can be; use a shorter GRAFT_RUNTIME_DIR`, "unreachable"));
  }
  return new Promise((resolve, reject) => {
    const socket = connect(req.socketPath);
    let data = "";
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      fn();
    };
    let signalled = false;
    const timer = setTimeout(
      () =>
        finish(() =>
          reject(
            new ControlSocketError(
              signalled
                ? `process ${req.pid} did not reply within ${req.replyTimeoutMs} ms: since the request it has reached no update point and returned from no wait (poll, epoll_wait, select, accept), where its runtime starts serving the control socket; nothing was applied, and a request it reads later is refused`
                : `process ${req.pid} did not reply within ${req.replyTimeoutMs} ms`,
              "timeout",
            ),
          ),
        ),
      req.replyTimeoutMs,
    );
    socket.setEncoding("utf8");
    socket.on("connect", () =>
      socket.write(`${req.line}\n`, (e) => {
        if (e) return; // the "error" event reports it
        signalled = wakeProcess(req.pid);
      }),
    );
    socket.on("data", (chunk: string) => {
      data += chunk;
      const nl = data.indexOf("\n");
      if (nl >= 0) finish(() => resolve(data.slice(0, nl)));
    });
    socket.on("end", () => {
      finish(() =>
        data.length > 0
          ? resolve(data) // a reply without its newline is still the reply
          : reject(new ControlSocketError(`process ${req.pid} closed the connection without replying (is it running as another user?)`, "no-reply")),
      );
    });
    socket.on("error", (e: NodeJS.ErrnoException) => finish(() => reject(describeConnectError(req, e))));
  });
}

/**
 * SIGURG tells the runtime that a request waits on its socket: it starts its
 * control thread at the next update point (and a blocking call of the main
 * thread returns EINTR, so an idle process gets there). SIGURG is ignored by
 * default, so a process that is not updateable is not harmed. false when the
 * signal could not be sent (the reply timeout then says less).
 */
function wakeProcess(pid: number): boolean {
  try {
    process.kill(pid, "SIGURG");
    return true;
  } catch {
    return false;
  }
}

/** Turns connect errors into what the user should check. */
function describeConnectError(req: ControlRequest, e: NodeJS.ErrnoException): ControlSocketError {
  const { pid, socketPath } = req;
  const alive = isProcessAlive(pid);
  switch (e.code) {
    case "ENOENT":
    case "ENOTDIR":
      return new ControlSocketError(
        alive === false
          ? `no process with pid ${pid} (no control socket at ${socketPath})`
          : `process ${pid} has no control socket at ${socketPath}: was it built with \`graft compile\`, and is GRAFT_RUNTIME_DIR the same as the process's?`,
        "unreachable",
      );
    case "ECONNREFUSED":
      return new ControlSocketError(
        alive === false
          ? `no process with pid ${pid} (stale control socket ${socketPath})`
          : `nothing is listening on ${socketPath}: the process's runtime is not serving its control socket`,
        "unreachable",
      );
    case "EACCES":
    case "EPERM":
      return new ControlSocketError(`permission denied on ${socketPath}: the process belongs to another user`, "unreachable");
    default:
      return new ControlSocketError(`cannot connect to ${socketPath}: ${e.message}`, "unreachable");
  }
}

/** undefined when we cannot tell (EPERM means it exists, as another user). */
function isProcessAlive(pid: number): boolean | undefined {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ESRCH") return false;
    if (code === "EPERM") return true;
    return undefined;
  }
}
