/**
 * `graft push` against a real HTTP server standing in for the dashboard's API:
 * what goes over the wire (method, query, token, a gzip'd tar of the sources)
 * and how answers become exit codes.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import { gunzipSync } from "node:zlib";
import { mkdtemp, mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { CliContext } from "./context.js";
import { main } from "./main.js";

function capture(env: Record<string, string> = {}): CliContext & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => stdout.push(l), err: (l) => stderr.push(l), env, cwd: os.tmpdir(), passthrough: [], debug: false, exitCode: 0 };
}

interface Seen { method?: string; url?: string; auth?: string; body: Buffer }
let server: Server | undefined;

async function fakeDashboard(jobStatus: string): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, body: Buffer.concat(chunks) });
    res.setHeader("content-type", "application/json");
    if (req.headers.authorization !== "Bearer graft_good") { res.statusCode = 401; res.end(JSON.stringify({ message: "unauthenticated" })); return; }
    if (req.method === "POST") { res.statusCode = 202; res.end(JSON.stringify({ ok: true, versionId: 7, jobId: 9 })); return; }
    res.end(JSON.stringify({ id: 9, status: jobStatus, error: jobStatus === "failed" ? "main.c:3: error: expected ';'" : null }));
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, seen };
}

async function sources(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "graft-push-"));
  await writeFile(path.join(dir, "main.c"), "int main(void) { return 0; }\n");
  await mkdir(path.join(dir, "inc"));
  await writeFile(path.join(dir, "inc", "app.h"), "#define X 1\n");
  await writeFile(path.join(dir, "notes.txt"), "not a source\n");
  return dir;
}

afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

describe("graft push", () => {
  it("uploads a gzip'd tar of the sources with the token, then follows the build", async () => {
    const { url, seen } = await fakeDashboard("done");
    const dir = await sources();
    const ctx = capture({ GRAFT_TOKEN: "graft_good" });
    const code = await main(["push", dir, "--program", "kvd", "--label", "v3", "--cflags", "-O2 -DX=1", "--server", url, "--wait"], ctx);
    expect(code, ctx.stderr.join("\n")).toBe(0);
    const post = seen[0];
    expect(post.method).toBe("POST");
    const q = new URL(post.url!, url).searchParams;
    expect([q.get("program"), q.get("label"), q.get("cflags")]).toEqual(["kvd", "v3", "-O2 -DX=1"]);
    expect(post.auth).toBe("Bearer graft_good");
    const tarText = gunzipSync(post.body).toString("latin1");
    expect(tarText).toContain("main.c");
    expect(tarText).toContain("inc/app.h");
    expect(tarText).not.toContain("notes.txt");
    expect(ctx.stdout.join("\n")).toMatch(/pushed kvd v3: version 7, build job 9 .*\n.*build done/);
  }, 30_000);

  it("exits 2 with the server's reason when the build fails, and 2 with a bad token", async () => {
    const { url } = await fakeDashboard("failed");
    const dir = await sources();
    const failed = capture({ GRAFT_TOKEN: "graft_good" });
    expect(await main(["push", dir, "--program", "kvd", "--label", "v3", "--server", url, "--wait"], failed)).toBe(2);
    expect(failed.stderr.join("\n")).toContain("main.c:3: error");
    const bad = capture({ GRAFT_TOKEN: "graft_bad" });
    expect(await main(["push", dir, "--program", "kvd", "--label", "v3", "--server", url], bad)).toBe(2);
    expect(bad.stderr.join("\n")).toContain("401 unauthenticated");
  }, 30_000);
});
