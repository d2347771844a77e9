/** `graft bundle PATCHDIR --key KEY -o FILE [--sequence N]`: sign a patch. */
import { checkOutputFile } from "../check-inputs.js";
import type { Command } from "commander";
import { resolve } from "node:path";
import { createBundle } from "../../bundle/index.js";
import type { CliContext } from "../context.js";
import { defineAction } from "../define-action.js";
import { ExitCode } from "../exit-codes.js";
import { parseNonNegativeInteger } from "../parse-args.js";
import { printDiagnostics } from "../report.js";

interface BundleOptions {
  key: string;
  out: string;
  sequence?: number;
}

export function registerBundle(program: Command, ctx: CliContext): void {
  program
    .command("bundle")
    .description("sign a patch directory into one .graft bundle")
    .argument("<patchdir>", "directory written by `graft patch` (manifest.json, patch.so, patch.c, xform.c)")
    .requiredOption("--key <file>", "private key (graft.key from `graft keygen`)")
    .requiredOption("-o, --out <file>", "bundle to write, e.g. kvd-4.graft")
    .option("--sequence <n>", "sequence number, overriding manifest.json (must exceed the running program's)", parseNonNegativeInteger)
    .action(
      defineAction(ctx, "bundle", (patchDir: string, opts: BundleOptions) => {
        checkOutputFile(opts.out, ctx.cwd);
        const created = createBundle({
          patchDir: resolve(ctx.cwd, patchDir),
          key: resolve(ctx.cwd, opts.key),
          out: resolve(ctx.cwd, opts.out),
          sequence: opts.sequence,
        });
        printDiagnostics(ctx, created.diagnostics);
        const m = created.manifest;
        ctx.out(`wrote ${created.path} (${created.size} bytes)`);
        ctx.out(`program ${m.program} sequence ${m.sequence} base ${m.base.slice(0, 12)} -> target ${m.target.slice(0, 12)}`);
        ctx.out(`signed by key ${created.keyId}`);
        for (const f of m.files) ctx.out(`  ${f.name} ${f.size} ${f.sha256}`);
        return ExitCode.Ok;
      }),
    );
}
