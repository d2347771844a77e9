/**
 * A tiny HTTP/1.1 client over net for exact-response checks: one request at
 * a time on a connection that can be kept alive, so tests can see
 * keep-alive behaviour that curl hides.
 */
import { SocketReader } from "./socket-reader.js";

export interface HttpRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface HttpResponse {
  status: number;
  reason: string;
  /** Header names lower-cased. */
  headers: Record<string, string>;
  body: Buffer;
  text: string;
}

export class HttpConnection {
  private constructor(
    readonly reader: SocketReader,
    readonly port: number,
  ) {}

  static async connect(port: number, host = "127.0.0.1", timeoutMs = 10_000): Promise<HttpConnection> {
    return new HttpConnection(await SocketReader.connect(port, host, timeoutMs), port);
  }

  /** Send one request and read its response (Content-Length framing). */
  async request(req: HttpRequest): Promise<HttpResponse> {
    const body = req.body === undefined ? undefined : typeof req.body === "string" ? Buffer.from(req.body) : req.body;
    const headers: Record<string, string> = { Host: `127.0.0.1:${this.port}`, ...(req.headers ?? {}) };
    if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === "content-length")) {
      headers["Content-Length"] = String(body.length);
    }
    let head = `${req.method ?? "GET"} ${req.path} HTTP/1.1\r\n`;
    for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
    head += "\r\n";
    await this.reader.write(body ? Buffer.concat([Buffer.from(head), body]) : head);
    return this.readResponse(req.method === "HEAD");
  }

  /** Read one response from the connection. */
  async readResponse(headOnly = false): Promise<HttpResponse> {
    const statusLine = await this.reader.readLine();
    const m = /^HTTP\/1\.\d (\d{3}) ?(.*)$/.exec(statusLine);
    if (!m) throw new Error(`bad status line: ${JSON.stringify(statusLine)}`);
    const headers: Record<string, string> = {};
    for (;;) {
      const line = await this.reader.readLine();
      if (line === "") break;
      const i = line.indexOf(":");
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    const len = headOnly ? 0 : Number(headers["content-length"] ?? "0");
    const body = len > 0 ? await this.reader.readBytes(len) : Buffer.alloc(0);
    return { status: Number(m[1]), reason: m[2], headers, body, text: body.toString("utf8") };
  }

  /** Send raw bytes (for malformed or pipelined requests). */
  sendRaw(data: string | Buffer): Promise<void> {
    return this.reader.write(data);
  }

  /** Resolves true if the server closes the connection within ms. */
  waitClosed(ms = 2000): Promise<boolean> {
    return this.reader.waitClosed(ms);
  }

  close(): void {
    this.reader.close();
  }
}

/** One request on a fresh connection, which is closed afterwards. */
export async function httpRequest(port: number, req: HttpRequest): Promise<HttpResponse> {
  const conn = await HttpConnection.connect(port);
  try {
    return await conn.request(req);
  } finally {
    conn.close();
  }
}
