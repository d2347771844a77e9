/**
 * The `graft` command: parse, run one subcommand, return its exit code.
 * Each subcommand lives in commands/ and calls the same library functions
 * the dashboard does.
 */
import { Command, CommanderError } from "commander";
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { registerApply } from "./commands/apply.js";
import { registerBundle } from "./commands/bundle.js";
import { registerCompile } from "./commands/compile.js";
import { registerKeygen } from "./commands/keygen.js";
import { registerPatch } from "./commands/patch.js";
import { registerPush } from "./commands/push.js";
import { registerStatus } from "./commands/status.js";
import { registerVerify } from "./commands/verify.js";
import { createProcessContext, type CliContext } from "./context.js";
import { CliDiagnostics, createCliError } from "./diagnostics.js";
import { ExitCode } from "./exit-codes.js";
import { reportError } from "./report.js";

/** Only these take compiler and linker flags after `--`. */
const TAKES_TOOL_FLAGS = new Set(["compile", "patch"]);

export function createProgram(ctx: CliContext): Command {
  const program = new Command("graft")
    .description("Dynamic software updating for C programs")
    .version(readPackageVersion(), "-V, --version", "print graft's version")
    .option("--debug", "print stack traces on errors")
    .exitOverride()
    .configureOutput({ writeOut: (s) => ctx.out(s.replace(/\n$/, "")), writeErr: (s) => ctx.err(s.replace(/\n$/, "")) })
    .addHelpText(
      "after",
      "\nExit codes: 0 ok, 1 internal error (a bug in graft), 2 refused or bad input, 3 no change.\nFlags after `--` go to gcc (compile, patch): -l, -L, -Wl, and .a/.so files to the link, the rest to compiling.",
    );
  program.hook("preAction", (_root, action) => {
    ctx.debug = program.opts().debug === true;
    if (ctx.passthrough.length > 0 && !TAKES_TOOL_FLAGS.has(action.name())) {
      throw createCliError(CliDiagnostics.Unexpected_arguments, `graft ${action.name()} takes no arguments after --: ${ctx.passthrough.join(" ")}`);
    }
  });
  registerKeygen(program, ctx);
  registerBundle(program, ctx);
  registerVerify(program, ctx);
  registerApply(program, ctx);
  registerStatus(program, ctx);
  registerCompile(program, ctx);
  registerPatch(program, ctx);
  registerPush(program, ctx);
  return program;
}

function readPackageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: string }).version ?? "unknown";
  } catch {
    return "unknown";
  }
}

/**
 * Words after the first `--` are gcc's, not ours: split them off before
 * commander sees them, since commander would otherwise mix them into the
 * file list.
 */
export function splitAtDoubleDash(argv: readonly string[]): { own: string[]; passthrough: string[] } {
  const i = argv.indexOf("--");
  return i < 0 ? { own: [...argv], passthrough: [] } : { own: argv.slice(0, i), passthrough: argv.slice(i + 1) };
}

/** Runs the command line (without node and script) and returns the exit code. */
export async function main(argv: readonly string[], ctx?: CliContext): Promise<number> {
  const { own, passthrough } = splitAtDoubleDash(argv);
  const context = ctx ?? createProcessContext(passthrough);
  context.passthrough = passthrough;
  const program = createProgram(context);
  if (own.length === 0) {
    program.outputHelp();
    return ExitCode.Refused;
  }
  try {
    await program.parseAsync(own, { from: "user" });
    return context.exitCode;
  } catch (e) {
    // Help and --version come here too, with exit code 0; everything else commander
    // rejects (an unknown command or option, a value our parsers refuse) is bad usage: 2.
    if (e instanceof CommanderError) return e.exitCode === 0 ? ExitCode.Ok : ExitCode.Refused;
    return reportError(context, own[0] ?? "", e);
  }
}

// `tsx lib/cli/main.ts ...` (the npm script) runs it directly; bin/graft.mjs imports it.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
