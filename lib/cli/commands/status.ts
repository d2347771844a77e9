/** `graft status --pid PID`: which program, version and sequence a process runs. */
import type { Command } from "commander";
import type { CliContext } from "../context.js";
import { parseControlReply } from "../control-reply.js";
import { getControlSocketPath, sendControlRequest } from "../control-socket.js";
import { defineAction } from "../define-action.js";
import { CliDiagnostics, createCliError } from "../diagnostics.js";
import { ExitCode } from "../exit-codes.js";
import { parsePid } from "../parse-args.js";

const STATUS_TIMEOUT_MS = 5_000;

interface StatusOptions {
  pid: number;
}

export function registerStatus(program: Command, ctx: CliContext): void {
  program
    .command("status")
    .description("ask a running process for its program, version, sequence and patch count")
    .requiredOption("--pid <pid>", "process to ask", parsePid)
    .action(
      defineAction(ctx, "status", async (opts: StatusOptions) => {
        const reply = await sendControlRequest({
          pid: opts.pid,
          socketPath: getControlSocketPath(opts.pid, ctx.env),
          line: "status",
          replyTimeoutMs: STATUS_TIMEOUT_MS,
        }).catch((e: Error) => {
          throw createCliError(CliDiagnostics.Cannot_reach_process, e.message);
        });
        ctx.out(reply);
        if (parseControlReply(reply).kind === "ok") return ExitCode.Ok;
        ctx.err(`graft status: unexpected reply from process ${opts.pid}`);
        return ExitCode.Error;
      }),
    );
}
