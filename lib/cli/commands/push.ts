/**
 * `graft push DIR --program NAME --label LABEL`: upload a version's sources to
 * the dashboard through its API (an API token from the dashboard's account
 * page). The server builds it updateable in its worker; --wait follows the
 * build to its end.
 */
import { readdir } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { create as createTar } from "tar";
import type { CliContext } from "../context.js";
import { defineAction } from "../define-action.js";
import { CliDiagnostics, createCliError } from "../diagnostics.js";
import { ExitCode } from "../exit-codes.js";

interface PushOptions {
  program: string;
  label: string;
  server: string;
  token?: string;
  cflags?: string;
  ldflags?: string;
  wait?: boolean;
}

/** The sources of a version: C files, headers and Makefiles, below DIR. */
async function sourceFiles(dir: string, sub = ""): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(dir, sub), { withFileTypes: true })) {
    const rel = path.join(sub, e.name);
    if (e.isDirectory() && !e.name.startsWith(".")) out.push(...(await sourceFiles(dir, rel)));
    else if (e.isFile() && /(\.[ch]|^Makefile)$/.test(e.name)) out.push(rel);
  }
  return out;
}

async function api(opts: PushOptions, token: string, url: string, init: RequestInit = {}): Promise<Record<string, unknown>> {
  let res: Response;
  try {
    res = await fetch(new URL(url, opts.server), { ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers ?? {}) } });
  } catch (e) {
    throw createCliError(CliDiagnostics.Push_failed, `cannot reach ${opts.server}: ${(e as Error).message}`);
  }
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) throw createCliError(CliDiagnostics.Push_failed, `${res.status} ${String(body.message ?? body.error ?? res.statusText)}`);
  return body;
}

export function registerPush(program: Command, ctx: CliContext): void {
  program
    .command("push")
    .description("upload a version's sources to the dashboard, which builds it updateable")
    .argument("<dir>", "directory holding the version's C sources")
    .requiredOption("--program <name>", "program name on the dashboard")
    .requiredOption("--label <label>", "version label, e.g. v1")
    .option("--server <url>", "dashboard address", "http://127.0.0.1:3000")
    .option("--token <token>", "API token (default: $GRAFT_TOKEN)")
    .option("--cflags <flags>", "compile flags, as one string")
    .option("--ldflags <flags>", "link flags, as one string")
    .option("--wait", "follow the build until it ends")
    .action(
      defineAction(ctx, "push", async (dir: string, opts: PushOptions) => {
        const token = opts.token ?? ctx.env.GRAFT_TOKEN;
        if (!token) throw createCliError(CliDiagnostics.Push_failed, "no API token: pass --token or set GRAFT_TOKEN (create one on the dashboard's account page)");
        const root = path.resolve(ctx.cwd, dir);
        const files = await sourceFiles(root).catch((e: Error) => { throw createCliError(CliDiagnostics.Push_failed, `cannot read ${dir}: ${e.message}`, dir); });
        if (!files.some((f) => f.endsWith(".c"))) throw createCliError(CliDiagnostics.Push_failed, `${dir} holds no .c file`, dir);
        const chunks: Buffer[] = [];
        for await (const c of createTar({ gzip: true, cwd: root, portable: true }, files)) chunks.push(Buffer.from(c as Uint8Array));
        const q = new URLSearchParams({ program: opts.program, label: opts.label, cflags: opts.cflags ?? "", ldflags: opts.ldflags ?? "" });
        const r = await api(opts, token, `/api/v1/versions?${q}`, { method: "POST", body: Buffer.concat(chunks), headers: { "content-type": "application/gzip" } });
        ctx.out(`pushed ${opts.program} ${opts.label}: version ${String(r.versionId)}, build job ${String(r.jobId)} (${files.length} files)`);
        if (!opts.wait) return ExitCode.Ok;
        for (;;) {
          await new Promise((res) => setTimeout(res, 1000));
          const job = await api(opts, token, `/api/jobs/${String(r.jobId)}`);
          if (job.status === "done") {
            ctx.out("build done: the version is on the dashboard");
            return ExitCode.Ok;
          }
          if (job.status === "failed") {
            ctx.err(`build failed: ${String(job.error ?? "see the dashboard")}`);
            return ExitCode.Refused;
          }
        }
      }),
    );
}
