/**
 * `graft apply --pid PID PATCHDIR|FILE.graft [--timeout MS]`: hand a patch to
 * a running process. The process verifies and applies it itself; this
 * command only delivers the path and reports the answer, and is trusted
 * with nothing.
 */
import type { Command } from "commander";
import { statSync } from "node:fs";
import { resolve } from "node:path";
import type { CliContext } from "../context.js";
import { parseControlReply } from "../control-reply.js";
import { getControlSocketPath, sendControlRequest } from "../control-socket.js";
import { defineAction } from "../define-action.js";
import { CliDiagnostics, createCliError } from "../diagnostics.js";
import { ExitCode } from "../exit-codes.js";
import { parseNonNegativeInteger, parsePid } from "../parse-args.js";

/** The runtime's own wait when asked for 0 (docs/control-protocol.md), and its cap (control.c). */
const RUNTIME_DEFAULT_TIMEOUT_MS = 10_000;
const RUNTIME_MAX_TIMEOUT_MS = 24 * 3600 * 1000;
/**
 * The runtime ends its wait at `until` (it refuses a request it reads later,
 * and cancels one whose requester has gone), so a reply comes by then; the
 * grace covers a patch's init running at the deadline and the reply's trip.
 */
const REPLY_GRACE_MS = 5_000;

/** The runtime's clock for `until=`: CLOCK_MONOTONIC, which libuv's hrtime reads on Linux. */
function monotonicMs(): number {
  return Number(process.hrtime.bigint() / 1_000_000n);
}

interface ApplyOptions {
  pid: number;
  timeout: number;
}

export function registerApply(program: Command, ctx: CliContext): void {
  program
    .command("apply")
    .description("apply a signed bundle (or, to an insecure build, a patch directory) to a running process")
    .argument("<patch>", "bundle (.graft) or patch directory")
    .requiredOption("--pid <pid>", "process to update", parsePid)
    .option("--timeout <ms>", "how long the process may wait for a safe update point (0: its default, 10 s)", parseNonNegativeInteger, 0)
    .action(
      defineAction(ctx, "apply", async (patch: string, opts: ApplyOptions) => {
        const path = resolve(ctx.cwd, patch);
        checkDeliverable(path);
        const waitMs = Math.min(opts.timeout || RUNTIME_DEFAULT_TIMEOUT_MS, RUNTIME_MAX_TIMEOUT_MS);
        const reply = await sendControlRequest({
          pid: opts.pid,
          socketPath: getControlSocketPath(opts.pid, ctx.env),
          line: `apply ${path} ${opts.timeout} until=${monotonicMs() + waitMs}`,
          replyTimeoutMs: waitMs + REPLY_GRACE_MS,
        }).catch((e: Error) => {
          throw createCliError(CliDiagnostics.Cannot_reach_process, e.message);
        });
        ctx.out(reply);
        const parsed = parseControlReply(reply);
        if (parsed.kind === "applied") return ExitCode.Ok;
        if (parsed.kind === "refused") return ExitCode.Refused;
        ctx.err(`graft apply: unexpected reply from process ${opts.pid}`);
        return ExitCode.Error;
      }),
    );
}

/**
 * The request is one line, so a path with a newline or another control
 * character cannot be sent. Spaces are fine: the runtime takes the timeout
 * from the last word (native/runtime/control.c, parse_apply), and we always
 * send one. A path that does not exist is better reported here than as a
 * refusal from the process.
 */
function checkDeliverable(path: string): void {
  const fail = (message: string): never => {
    throw createCliError(CliDiagnostics.Patch_not_deliverable, message, path);
  };
  if ([...path].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f)) {
    fail("the control protocol cannot carry a path with a newline or control character; move or link the patch to a plain path");
  }
  try {
    const st = statSync(path);
    if (!st.isFile() && !st.isDirectory()) fail("not a bundle file or a patch directory");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === undefined) throw e;
    fail(code === "ENOENT" ? "no such file or directory" : `cannot read it (${code})`);
  }
}
