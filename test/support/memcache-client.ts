/**
 * A tiny memcached text-protocol client for exact-response checks. One
 * request at a time; every method returns the server's reply verbatim
 * (minus "\r\n"), or parsed values for retrievals and stats.
 */
import { SocketReader } from "./socket-reader.js";

export interface MemcacheValue {
  key: string;
  flags: number;
  /** Value bytes as a UTF-8 string. */
  value: string;
  data: Buffer;
  /** Present for gets. */
  cas?: bigint;
}

export interface StoreOptions {
  flags?: number;
  exptime?: number;
  noreply?: boolean;
}

export type StoreCommand = "set" | "add" | "replace" | "append" | "prepend";

export class MemcacheClient {
  private constructor(readonly reader: SocketReader) {}

  static async connect(port: number, host = "127.0.0.1", timeoutMs = 10_000): Promise<MemcacheClient> {
    return new MemcacheClient(await SocketReader.connect(port, host, timeoutMs));
  }

  /** Send raw bytes (a complete command, "\r\n" included). */
  send(raw: string | Buffer): Promise<void> {
    return this.reader.write(raw);
  }

  readLine(): Promise<string> {
    return this.reader.readLine();
  }

  /** Send one command line and read one reply line. */
  async command(line: string): Promise<string> {
    await this.send(`${line}\r\n`);
    return this.readLine();
  }

  async store(cmd: StoreCommand, key: string, value: string | Buffer, opts: StoreOptions = {}): Promise<string | null> {
    const data = typeof value === "string" ? Buffer.from(value) : value;
    const head = `${cmd} ${key} ${opts.flags ?? 0} ${opts.exptime ?? 0} ${data.length}${opts.noreply ? " noreply" : ""}\r\n`;
    await this.send(Buffer.concat([Buffer.from(head), data, Buffer.from("\r\n")]));
    return opts.noreply ? null : this.readLine();
  }

  set(key: string, value: string | Buffer, opts?: StoreOptions): Promise<string | null> {
    return this.store("set", key, value, opts);
  }

  add(key: string, value: string | Buffer, opts?: StoreOptions): Promise<string | null> {
    return this.store("add", key, value, opts);
  }

  replace(key: string, value: string | Buffer, opts?: StoreOptions): Promise<string | null> {
    return this.store("replace", key, value, opts);
  }

  append(key: string, value: string | Buffer, opts?: StoreOptions): Promise<string | null> {
    return this.store("append", key, value, opts);
  }

  prepend(key: string, value: string | Buffer, opts?: StoreOptions): Promise<string | null> {
    return this.store("prepend", key, value, opts);
  }

  async cas(key: string, value: string | Buffer, cas: bigint, opts: StoreOptions = {}): Promise<string | null> {
    const data = typeof value === "string" ? Buffer.from(value) : value;
    const head = `cas ${key} ${opts.flags ?? 0} ${opts.exptime ?? 0} ${data.length} ${cas}${opts.noreply ? " noreply" : ""}\r\n`;
    await this.send(Buffer.concat([Buffer.from(head), data, Buffer.from("\r\n")]));
    return opts.noreply ? null : this.readLine();
  }

  /** get/gets of one or more keys; the values found, in reply order. */
  async retrieve(cmd: "get" | "gets", keys: string[]): Promise<MemcacheValue[]> {
    await this.send(`${cmd} ${keys.join(" ")}\r\n`);
    const out: MemcacheValue[] = [];
    for (;;) {
      const line = await this.readLine();
      if (line === "END") return out;
      const m = /^VALUE (\S+) (\d+) (\d+)(?: (\d+))?$/.exec(line);
      if (!m) throw new Error(`unexpected reply to ${cmd}: ${line}`);
      const data = await this.reader.readBytes(Number(m[3]));
      const crlf = await this.reader.readBytes(2);
      if (crlf.toString("latin1") !== "\r\n") throw new Error("value not followed by CRLF");
      out.push({
        key: m[1],
        flags: Number(m[2]),
        data,
        value: data.toString("utf8"),
        ...(m[4] !== undefined ? { cas: BigInt(m[4]) } : {}),
      });
    }
  }

  /** The value of one key, or null. */
  async get(key: string): Promise<string | null> {
    const vals = await this.retrieve("get", [key]);
    return vals.length > 0 ? vals[0].value : null;
  }

  async gets(key: string): Promise<MemcacheValue | null> {
    const vals = await this.retrieve("gets", [key]);
    return vals.length > 0 ? vals[0] : null;
  }

  delete(key: string): Promise<string> {
    return this.command(`delete ${key}`);
  }

  incr(key: string, delta: number | bigint): Promise<string> {
    return this.command(`incr ${key} ${delta}`);
  }

  decr(key: string, delta: number | bigint): Promise<string> {
    return this.command(`decr ${key} ${delta}`);
  }

  touch(key: string, exptime: number): Promise<string> {
    return this.command(`touch ${key} ${exptime}`);
  }

  flushAll(delay?: number): Promise<string> {
    return this.command(delay === undefined ? "flush_all" : `flush_all ${delay}`);
  }

  /** The "VERSION ..." reply without the "VERSION " prefix. */
  async version(): Promise<string> {
    const line = await this.command("version");
    if (!line.startsWith("VERSION ")) throw new Error(`unexpected reply to version: ${line}`);
    return line.slice("VERSION ".length);
  }

  /** "stats" or "stats <arg>" as a name -> value map; throws on ERROR. */
  async stats(arg?: string): Promise<Record<string, string>> {
    await this.send(arg ? `stats ${arg}\r\n` : "stats\r\n");
    const out: Record<string, string> = {};
    for (;;) {
      const line = await this.readLine();
      if (line === "END") return out;
      const m = /^STAT (\S+) (.*)$/.exec(line);
      if (!m) throw new Error(`unexpected reply to stats: ${line}`);
      out[m[1]] = m[2];
    }
  }

  /** Send quit; resolves true if the server then closed the connection. */
  async quit(): Promise<boolean> {
    await this.send("quit\r\n");
    return this.reader.waitClosed(2000);
  }

  close(): void {
    this.reader.close();
  }
}
