/**
 * `graft patch --from OUTDIR_OLD -o PATCHDIR [--xform FILE] FILE.c... [-- CFLAGS]`:
 * compare the new sources with the running version and build the patch.
 * Exit 2 when the change is refused, 3 when there is nothing to patch.
 */
import type { Command } from "commander";
import type { CliContext } from "../context.js";
import { defineAction } from "../define-action.js";
import { ExitCode } from "../exit-codes.js";
import { loadStage } from "../load-stage.js";
import { checkInputDir, checkInputFile, checkOutputDir, checkSourceFiles } from "../check-inputs.js";
import { printDiagnostics } from "../report.js";
import { splitToolFlags } from "../tool-flags.js";

interface PatchCliOptions {
  from: string;
  out: string;
  xform?: string;
}

export function registerPatch(program: Command, ctx: CliContext): void {
  program
    .command("patch")
    .description("generate a patch from the old build to new sources")
    .usage("--from OUTDIR_OLD -o PATCHDIR [--xform FILE] FILE.c... [-- CFLAGS...]")
    .argument("<files...>", "the new version's C sources")
    .requiredOption("--from <dir>", "output directory of the `graft compile` being patched")
    .requiredOption("-o, --out <dir>", "patch directory to write (manifest.json, patch.c, patch.so)")
    .option("--xform <file>", "hand-edited type and state transformers to use instead of the generated ones")
    .action(
      defineAction(ctx, "patch", async (files: string[], opts: PatchCliOptions) => {
        checkSourceFiles(files, ctx.cwd);
        checkOutputDir(opts.out, ctx.cwd);
        if (opts.from.endsWith(".json")) checkInputFile(opts.from, ctx.cwd, "--from");
        else checkInputDir(opts.from, ctx.cwd, "--from");
        if (opts.xform !== undefined) checkInputFile(opts.xform, ctx.cwd, "--xform");
        const { cflags, ldflags } = splitToolFlags(ctx.passthrough);
        const { generatePatch } = await loadStage("the patch generator (lib/patch)", () => import("../../patch/index.js"));
        const result = await generatePatch({
          from: opts.from,
          files,
          outDir: opts.out,
          cflags,
          ldflags,
          xformFile: opts.xform,
          cwd: ctx.cwd,
          onProgress: (msg: string) => ctx.err(msg),
        });
        printDiagnostics(ctx, result.diagnostics);
        ctx.out(`wrote ${result.patchDir}`);
        const m = result.manifest;
        ctx.out(`program ${m.program} sequence ${m.sequence} base ${m.base.slice(0, 12)} -> target ${m.target.slice(0, 12)}`);
        return ExitCode.Ok;
      }),
    );
}
