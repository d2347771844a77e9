/**
 * A promise-based reader over a TCP socket: read a line, or exactly n bytes,
 * with a timeout. Used by the tiny memcached and HTTP clients.
 */
import net from "node:net";

export class SocketReader {
  private buf: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  private ended = false;
  private error: Error | null = null;

  constructor(
    readonly socket: net.Socket,
    readonly timeoutMs = 10_000,
  ) {
    socket.on("data", (b: Buffer) => {
      this.buf = this.buf.length === 0 ? b : Buffer.concat([this.buf, b]);
      this.wake();
    });
    socket.on("end", () => {
      this.ended = true;
      this.wake();
    });
    socket.on("close", () => {
      this.ended = true;
      this.wake();
    });
    socket.on("error", (e) => {
      this.error = e;
      this.wake();
    });
  }

  /** Open a connection to host:port. */
  static connect(port: number, host = "127.0.0.1", timeoutMs = 10_000): Promise<SocketReader> {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ port, host });
      sock.setNoDelay(true);
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new Error(`connect to ${host}:${port} timed out`));
      }, timeoutMs);
      sock.once("connect", () => {
        clearTimeout(timer);
        resolve(new SocketReader(sock, timeoutMs));
      });
      sock.once("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    if (w) w();
  }

  /** True once the peer has closed and everything buffered was consumed. */
  get closed(): boolean {
    return this.ended && this.buf.length === 0;
  }

  private async waitFor<T>(take: () => T | null, what: string): Promise<T> {
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const got = take();
      if (got !== null) return got;
      if (this.error) throw this.error;
      if (this.ended) throw new Error(`connection closed while reading ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out reading ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.waiter = null;
          resolve();
        }, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** One line, without its "\r\n" (or "\n"). */
  readLine(): Promise<string> {
    return this.waitFor(() => {
      const i = this.buf.indexOf(10);
      if (i < 0) return null;
      const end = i > 0 && this.buf[i - 1] === 13 ? i - 1 : i;
      const line = this.buf.subarray(0, end).toString("latin1");
      this.buf = this.buf.subarray(i + 1);
      return line;
    }, "a line");
  }

  /** Exactly n bytes. */
  readBytes(n: number): Promise<Buffer> {
    return this.waitFor(() => {
      if (this.buf.length < n) return null;
      const out = Buffer.from(this.buf.subarray(0, n));
      this.buf = this.buf.subarray(n);
      return out;
    }, `${n} bytes`);
  }

  /** Resolves true if the peer closes within ms (and sent nothing more). */
  async waitClosed(ms = 2000): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.ended && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.ended;
  }

  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.write(data, (e) => (e ? reject(e) : resolve()));
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
