/**
 * `graft compile -o OUTDIR --name NAME [--trust PUB]... FILE.c... [-- FLAGS]`:
 * the updateable build. Flags after `--` are split between compiling and
 * linking (tool-flags.ts).
 */
import path from "node:path";
import type { Command } from "commander";
import type { CliContext } from "../context.js";
import { defineAction } from "../define-action.js";
import { ExitCode } from "../exit-codes.js";
import { loadStage } from "../load-stage.js";
import { checkInputFile, checkOutputDir, checkProgramName, checkSourceFiles } from "../check-inputs.js";
import { collect, collectRoom } from "../parse-args.js";
import { printDiagnostics } from "../report.js";
import { splitToolFlags } from "../tool-flags.js";

interface CompileCliOptions {
  out: string;
  name: string;
  trust?: string[];
  insecureAcceptUnsignedPatches?: boolean;
  room?: Record<string, number>;
  staticRuntime?: boolean;
}

export function registerCompile(program: Command, ctx: CliContext): void {
  program
    .command("compile")
    .description("build an updateable executable and its version data")
    .usage("-o OUTDIR --name NAME [--trust PUB]... [--room TYPE=BYTES]... [--static-runtime] FILE.c... [-- CFLAGS... LDFLAGS...]")
    .argument("<files...>", "the program's C sources")
    .requiredOption("-o, --out <dir>", "output directory: executable and NAME.vd.json")
    .requiredOption("--name <name>", "program name, checked against every patch")
    .option("--trust <pub>", "public key (graft.pub) whose bundles the program accepts; repeatable", collect)
    .option("--insecure-accept-unsigned-patches", "DEVELOPMENT ONLY: also accept bare, unsigned patch directories")
    .option("--room <type=bytes>", "spare bytes reserved in a wrapped type, overriding the default; repeatable", collectRoom)
    .option("--static-runtime", "link the runtime into the executable instead of loading OUTDIR/libgraft.so.1 beside it")
    .action(
      defineAction(ctx, "compile", async (files: string[], opts: CompileCliOptions) => {
        checkSourceFiles(files, ctx.cwd);
        checkOutputDir(opts.out, ctx.cwd);
        checkProgramName(opts.name);
        for (const k of opts.trust ?? []) checkInputFile(k, ctx.cwd, "--trust");
        const { cflags, ldflags } = splitToolFlags(ctx.passthrough);
        const insecure = opts.insecureAcceptUnsignedPatches === true;
        if (insecure) {
          ctx.err("graft compile: WARNING: --insecure-accept-unsigned-patches: any process of your user can load code into this program. Never deploy it.");
        } else if (!opts.trust?.length) {
          ctx.err("graft compile: warning: no --trust key: the program will refuse every patch");
        }
        const { compileProgram } = await loadStage("the compiler (lib/compile)", () => import("../../compile/index.js"));
        const result = await compileProgram({
          name: opts.name,
          files,
          outDir: opts.out,
          cflags,
          ldflags,
          trustedKeys: opts.trust ?? [],
          insecureAcceptUnsigned: insecure,
          rooms: opts.room ?? {},
          staticRuntime: opts.staticRuntime === true,
          cwd: ctx.cwd,
          onProgress: (msg) => ctx.err(msg),
        });
        printDiagnostics(ctx, result.diagnostics);
        ctx.out(`wrote ${result.executable}`);
        ctx.out(`wrote ${result.versionDataPath}`);
        if (!opts.staticRuntime) ctx.out(`wrote ${path.join(path.dirname(result.executable), "libgraft.so.1")} (the runtime: deploy it with the executable)`);
        return ExitCode.Ok;
      }),
    );
}
