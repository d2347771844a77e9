/**
 * Real clients for the real programs: Python's ftplib (a child python3 that
 * takes JSON commands on stdin, one logged-in session held as long as the
 * test wants), curl ftp:// downloads, and for memcached the shared
 * MemcacheClient (test/support/memcache-client.ts) and memcslap
 * (test/support/drivers.ts).
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync } from "node:fs";

import { CURL, runMemslap, type MemslapResult } from "../drivers.js";
import { MemcacheClient } from "../memcache-client.js";
import { run } from "../process.js";

export const PYTHON = ["/usr/bin/python3", "/usr/local/bin/python3"].find((p) => existsSync(p)) ?? "python3";

/**
 * The ftplib side. Each stdin line is a JSON command, each stdout line the
 * JSON answer: {"ok": true, ...} or {"ok": false, "error": "..."}.
 * Commands: connect {port}, login, pwd, nlst, retr {file}, size {file},
 * noop, quit; and load {port, file, seconds, expect}: sessions of
 * connect/login/retr/quit in a loop, each in a fresh connection, until
 * `seconds` pass or a "stop" line arrives; answers counts and the errors.
 */
const FTP_SCRIPT = String.raw`
import ftplib, io, json, select, sys, time, traceback
ftp = None
def answer(d):
    sys.stdout.write(json.dumps(d) + "\n"); sys.stdout.flush()
def one_session(port, name, expect):
    f = ftplib.FTP()
    f.connect("127.0.0.1", port, timeout=10)
    welcome = f.getwelcome()
    f.login()
    buf = io.BytesIO()
    f.retrbinary("RETR " + name, buf.write)
    f.quit()
    data = buf.getvalue().decode("latin1")
    if expect is not None and data != expect:
        raise Exception("downloaded %d bytes, expected %d" % (len(data), len(expect)))
    return welcome
def load(c):
    ok = 0; failed = 0; errors = []; welcomes = {}
    end = time.time() + c.get("seconds", 3600)
    while time.time() < end:
        try:
            w = one_session(c["port"], c["file"], c.get("expect"))
            welcomes[w] = welcomes.get(w, 0) + 1
            ok += 1
        except Exception as e:
            failed += 1
            if len(errors) < 20: errors.append("%s: %s" % (type(e).__name__, e))
        r, _, _ = select.select([sys.stdin], [], [], 0)
        if r:
            line = sys.stdin.readline()
            if not line or line.strip() == "stop": break
    return {"ok": True, "sessions": ok, "failed": failed, "errors": errors, "welcomes": welcomes}
for line in sys.stdin:
    line = line.strip()
    if not line: continue
    try:
        c = json.loads(line); op = c["op"]
        if op == "connect":
            ftp = ftplib.FTP(); ftp.connect("127.0.0.1", c["port"], timeout=c.get("timeout", 10))
            answer({"ok": True, "resp": ftp.getwelcome()})
        elif op == "login": answer({"ok": True, "resp": ftp.login()})
        elif op == "pwd": answer({"ok": True, "resp": ftp.pwd()})
        elif op == "nlst": answer({"ok": True, "names": ftp.nlst()})
        elif op == "size": answer({"ok": True, "size": ftp.size(c["file"])})
        elif op == "noop": answer({"ok": True, "resp": ftp.voidcmd("NOOP")})
        elif op == "retr":
            buf = io.BytesIO(); resp = ftp.retrbinary("RETR " + c["file"], buf.write)
            answer({"ok": True, "resp": resp, "data": buf.getvalue().decode("latin1")})
        elif op == "quit": answer({"ok": True, "resp": ftp.quit()}); ftp = None
        elif op == "load": answer(load(c))
        else: answer({"ok": False, "error": "unknown op " + op})
    except Exception as e:
        answer({"ok": False, "error": "%s: %s" % (type(e).__name__, e)})
`;

export interface FtpAnswer {
  ok: boolean;
  error?: string;
  resp?: string;
  names?: string[];
  data?: string;
  size?: number;
}

export class FtpError extends Error {
  constructor(readonly op: string, readonly answer: FtpAnswer, stderr: string) {
    super(`ftplib ${op}: ${answer.error ?? JSON.stringify(answer)}${stderr ? `\npython stderr: ${stderr}` : ""}`);
    this.name = "FtpError";
  }
}

/** One python3 ftplib process: a control connection held open across whatever the test does in between. */
export class FtplibSession {
  private buf = "";
  private stderr = "";
  private waiters: ((line: string | null) => void)[] = [];
  private lines: string[] = [];
  private closed = false;

  private constructor(private readonly proc: ChildProcessWithoutNullStreams) {
    proc.stdout.setEncoding("utf8");
    proc.stdout.on("data", (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf("\n")) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        const w = this.waiters.shift();
        if (w) w(line);
        else this.lines.push(line);
      }
    });
    proc.stderr.on("data", (d: Buffer) => {
      this.stderr += d.toString("utf8");
    });
    proc.on("close", () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w(null);
    });
    proc.stdin.on("error", () => {});
  }

  static start(): FtplibSession {
    return new FtplibSession(spawn(PYTHON, ["-u", "-c", FTP_SCRIPT], { stdio: ["pipe", "pipe", "pipe"] }));
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  private nextLine(timeoutMs: number): Promise<string | null> {
    const queued = this.lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`ftplib: no answer in ${timeoutMs} ms; python stderr: ${this.stderr}`));
      }, timeoutMs);
      const w = (line: string | null) => {
        clearTimeout(timer);
        resolve(line);
      };
      this.waiters.push(w);
    });
  }

  /** A raw line to the script (e.g. "stop" for a running load). */
  sendLine(line: string): void {
    this.proc.stdin.write(`${line}\n`);
  }

  /** Send one command; resolves with the answer, ok or not. */
  async request(cmd: Record<string, unknown>, timeoutMs = 30_000): Promise<FtpAnswer> {
    this.proc.stdin.write(`${JSON.stringify(cmd)}\n`);
    const line = await this.nextLine(timeoutMs);
    if (line === null) return { ok: false, error: `python exited; stderr: ${this.stderr}` };
    return JSON.parse(line) as FtpAnswer;
  }

  /** Send one command; throws FtpError unless it worked. */
  async must(cmd: Record<string, unknown>, timeoutMs?: number): Promise<FtpAnswer> {
    const a = await this.request(cmd, timeoutMs);
    if (!a.ok) throw new FtpError(String(cmd.op), a, this.stderr);
    return a;
  }

  /** The greeting line ("220 (vsFTPd 2.0.1)"). */
  async connect(port: number): Promise<string> {
    return (await this.must({ op: "connect", port })).resp ?? "";
  }

  async login(): Promise<string> {
    return (await this.must({ op: "login" })).resp ?? "";
  }

  async pwd(): Promise<string> {
    return (await this.must({ op: "pwd" })).resp ?? "";
  }

  async nlst(): Promise<string[]> {
    return (await this.must({ op: "nlst" })).names ?? [];
  }

  async retr(file: string): Promise<{ resp: string; data: string }> {
    const a = await this.must({ op: "retr", file });
    return { resp: a.resp ?? "", data: a.data ?? "" };
  }

  async noop(): Promise<string> {
    return (await this.must({ op: "noop" })).resp ?? "";
  }

  async quit(): Promise<string> {
    return (await this.must({ op: "quit" })).resp ?? "";
  }

  /** Ends the python process (closing its connection if still open). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.proc.stdin.end();
    const t = setTimeout(() => this.proc.kill("SIGKILL"), 3000);
    await new Promise<void>((r) => (this.closed ? r() : this.proc.once("close", () => r())));
    clearTimeout(t);
  }
}

export interface FtpLoadResult {
  sessions: number;
  failed: number;
  errors: string[];
  /** Greeting line -> how many sessions got it. */
  welcomes: Record<string, number>;
}

/**
 * Back-to-back anonymous sessions (connect, login, RETR, quit) from one
 * ftplib process while the test does something else; `stop()` ends the loop
 * and resolves with the counts.
 */
export function startFtpLoad(port: number, file: string, expect: string, maxSeconds = 120): { stop: () => Promise<FtpLoadResult> } {
  const s = FtplibSession.start();
  const result = s.request({ op: "load", port, file, expect, seconds: maxSeconds }, (maxSeconds + 30) * 1000);
  return {
    stop: async () => {
      await new Promise((r) => setTimeout(r, 200));
      // Reach the loop's select() on stdin: "stop" ends it after the current session.
      s.sendLine("stop");
      const a = (await result) as FtpAnswer & Partial<FtpLoadResult>;
      await s.close();
      if (!a.ok) throw new FtpError("load", a, "");
      return { sessions: a.sessions ?? 0, failed: a.failed ?? 0, errors: a.errors ?? [], welcomes: a.welcomes ?? {} };
    },
  };
}

/** One whole anonymous session: greeting, login, listing, download. */
export async function ftpSessionOnce(port: number, file: string): Promise<{ welcome: string; login: string; names: string[]; data: string; retr: string }> {
  const s = FtplibSession.start();
  try {
    const welcome = await s.connect(port);
    const login = await s.login();
    const names = await s.nlst();
    const { resp: retr, data } = await s.retr(file);
    await s.quit();
    return { welcome, login, names, data, retr };
  } finally {
    await s.close();
  }
}

/** `curl ftp://127.0.0.1:port/file` (anonymous): the body, or a failure with curl's message. */
export async function curlFtp(port: number, file: string, timeoutSec = 10): Promise<{ ok: boolean; body: string; exitCode: number | null; stderr: string }> {
  const r = await run(CURL, ["-s", "-S", "--max-time", String(timeoutSec), `ftp://127.0.0.1:${port}/${file}`], { timeoutMs: (timeoutSec + 5) * 1000 });
  return { ok: r.code === 0, body: r.stdout, exitCode: r.code, stderr: r.stderr };
}

/** `curl -l ftp://.../` : the names in the anon_root. */
export async function curlFtpList(port: number, timeoutSec = 10): Promise<{ ok: boolean; names: string[]; stderr: string }> {
  const r = await run(CURL, ["-s", "-S", "-l", "--max-time", String(timeoutSec), `ftp://127.0.0.1:${port}/`], { timeoutMs: (timeoutSec + 5) * 1000 });
  return { ok: r.code === 0, names: r.stdout.split(/\r?\n/).filter(Boolean), stderr: r.stderr };
}

/** The greeting a new connection gets (a raw TCP read of the 220 line). */
export async function ftpGreeting(port: number): Promise<string> {
  const s = FtplibSession.start();
  try {
    return await s.connect(port);
  } finally {
    await s.close();
  }
}

// ------------------------------------------------------------------ memcached

export const MEMCACHED_KEYS = 300;

export function keyOf(i: number): string {
  return `graft:key:${i}`;
}

export function valueOf(i: number, tag = "v"): string {
  return `${tag}-${i}-${"x".repeat(i % 97)}`;
}

/** set keyOf(i) = valueOf(i) for i < n over one connection; returns the replies that were not STORED. */
export async function storeKeys(c: MemcacheClient, n = MEMCACHED_KEYS, tag = "v"): Promise<string[]> {
  const bad: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await c.set(keyOf(i), valueOf(i, tag), { flags: i });
    if (r !== "STORED") bad.push(`${keyOf(i)}: ${r}`);
  }
  return bad;
}

/** get every key stored by storeKeys; returns the keys missing or wrong. */
export async function checkKeys(c: MemcacheClient, n = MEMCACHED_KEYS, tag = "v"): Promise<string[]> {
  const bad: string[] = [];
  for (let i = 0; i < n; i += 50) {
    const keys = Array.from({ length: Math.min(50, n - i) }, (_, j) => keyOf(i + j));
    const vals = new Map((await c.retrieve("get", keys)).map((v) => [v.key, v]));
    for (let j = 0; j < keys.length; j++) {
      const v = vals.get(keys[j]);
      if (!v) bad.push(`${keys[j]}: missing`);
      else if (v.value !== valueOf(i + j, tag) || v.flags !== i + j) bad.push(`${keys[j]}: got flags ${v.flags} ${JSON.stringify(v.value.slice(0, 40))}`);
    }
  }
  return bad;
}

/** Open `n` connections to memcached. */
export async function openMemcacheConnections(port: number, n: number): Promise<MemcacheClient[]> {
  const out: MemcacheClient[] = [];
  for (let i = 0; i < n; i++) out.push(await MemcacheClient.connect(port));
  return out;
}

/** memcslap set then get against 127.0.0.1:port (a few thousand operations). */
export async function memcslapRound(port: number, executeNumber = 2000): Promise<{ set: MemslapResult; get: MemslapResult }> {
  const set = await runMemslap(port, { test: "set", concurrency: 2, executeNumber, timeoutMs: 60_000 });
  const get = await runMemslap(port, { test: "get", concurrency: 2, executeNumber, initialLoad: 500, timeoutMs: 60_000 });
  return { set, get };
}

/**
 * Requests on one connection in a loop (set, get, check) until stopped, on
 * keys of its own (`tag`: two loads must not write each other's keys):
 * counts the requests and the ones that failed (wrong reply, error, closed).
 */
export function startMemcacheLoad(port: number, tag = "load"): { stop: () => Promise<{ requests: number; failed: number; errors: string[] }> } {
  let stopping = false;
  let requests = 0;
  let failed = 0;
  const errors: string[] = [];
  const done = (async () => {
    let c: MemcacheClient | null = null;
    try {
      c = await MemcacheClient.connect(port);
      for (let i = 0; !stopping; i++) {
        const k = `graft:${tag}:${i % 200}`;
        const v = `${tag}-${i}`;
        try {
          const r = await c.set(k, v);
          requests++;
          if (r !== "STORED") throw new Error(`set ${k}: ${r}`);
          const g = await c.get(k);
          requests++;
          if (g !== v) throw new Error(`get ${k}: ${g}`);
        } catch (e) {
          failed++;
          if (errors.length < 20) errors.push(String((e as Error).message));
          c.close();
          c = await MemcacheClient.connect(port);
        }
      }
    } catch (e) {
      failed++;
      errors.push(`connect: ${(e as Error).message}`);
    } finally {
      c?.close();
    }
  })();
  return {
    stop: async () => {
      stopping = true;
      await done;
      return { requests, failed, errors };
    },
  };
}
