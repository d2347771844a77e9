/**
 * `graft verify FILE --pub PUB`: the runtime's verdict, offline. Prints the
 * verdict in the runtime's own words (`refused <code> <reason>`), so that a
 * script can compare the two.
 */
import type { Command } from "commander";
import { statSync } from "node:fs";
import { INPUT_LIMITS, readInputFile } from "../../model/read-input-file.js";
import { resolve } from "node:path";
import { BundleDiagnostics, readBundleManifest, readPublicKey, verifyBundle, type BundleExpectations } from "../../bundle/index.js";
import type { CliContext } from "../context.js";
import { defineAction } from "../define-action.js";
import { ExitCode } from "../exit-codes.js";
import { collect, parseNonNegativeInteger } from "../parse-args.js";
import { z } from "zod";
import { GraftError } from "../../model/diagnostics.js";

interface VerifyOptions {
  pub: string[];
  against?: string;
  program?: string;
  base?: string;
  afterSequence?: number;
}

export function registerVerify(program: Command, ctx: CliContext): void {
  program
    .command("verify")
    .description("check a bundle as the running program would, without one (exit 0 ok, 2 refused)")
    .argument("<file>", "bundle (.graft)")
    .requiredOption("--pub <file>", "trusted public key (graft.pub); repeat for several", collect)
    .option("--against <vd.json>", "also check program, base and sequence against this version data (NAME.vd.json of the running build)")
    .option("--program <name>", "also refuse a bundle for another program (wrong-program)")
    .option("--base <digest>", "also refuse a bundle for another running version (wrong-base)")
    .option("--after-sequence <n>", "also refuse a sequence not above N (replay)", parseNonNegativeInteger)
    .action(
      defineAction(ctx, "verify", (file: string, opts: VerifyOptions) => {
        const keys = opts.pub.map((p) => readPublicKey(resolve(ctx.cwd, p)).hex);
        const path = resolve(ctx.cwd, file);
        if (isDirectory(path)) {
          // What the runtime says of a bare patch directory in a signed build.
          ctx.out("refused unsigned a bare patch directory carries no signature; sign it with `graft bundle`");
          return ExitCode.Refused;
        }
        const running = opts.against ? readRunningVersion(resolve(ctx.cwd, opts.against)) : {};
        const expect: BundleExpectations = {
          program: opts.program ?? running.program,
          base: opts.base ?? running.base,
          sequence: opts.afterSequence ?? running.sequence,
        };
        const bytes = readBundleFile(path);
        const result = verifyBundle(bytes, keys, expect);
        if (!result.ok) {
          ctx.out(`refused ${result.code} ${result.reason}`);
          // Who signed it and for what helps find the right key; say it is a claim.
          const claimed = readBundleManifest(bytes);
          if (claimed.ok) {
            const m = claimed.manifest;
            ctx.err(`the bundle claims (unverified): program=${m.program} sequence=${m.sequence} base=${m.base.slice(0, 12)} key=${claimed.keyId}`);
          }
          return ExitCode.Refused;
        }
        const m = result.manifest;
        ctx.out(`ok program=${m.program} sequence=${m.sequence} base=${m.base} target=${m.target} key=${result.keyId} created=${m.created}`);
        for (const f of m.files) ctx.out(`  ${f.name} ${f.size} ${f.sha256}`);
        return ExitCode.Ok;
      }),
    );
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function readBundleFile(path: string): Buffer {
  try {
    return readInputFile(path, INPUT_LIMITS.bundle).bytes;
  } catch (e) {
    const what = (e as Error).message;
    throw new GraftError(`cannot read ${path}: ${what}`, [{ code: BundleDiagnostics.Bundle_unreadable, category: "error", file: path, message: `cannot read bundle: ${what}` }], 2);
  }
}

/** The fields of a .vd.json that a running program compares a bundle with. */
const RunningVersionSchema = z.object({
  program: z.string(),
  digest: z.string().regex(/^[0-9a-f]{64}$/),
  sequence: z.number().int().nonnegative(),
});

function readRunningVersion(path: string): BundleExpectations {
  let json: unknown;
  try {
    json = JSON.parse(readInputFile(path, INPUT_LIMITS.versionData).bytes.toString("utf8"));
  } catch (e) {
    const what = (e as Error).message;
    throw new GraftError(`cannot read ${path}: ${what}`, [{ code: BundleDiagnostics.Bundle_unreadable, category: "error", file: path, message: `cannot read version data: ${what}` }], 2);
  }
  const parsed = RunningVersionSchema.safeParse(json);
  if (!parsed.success) {
    const message = "not version data written by `graft compile` (needs program, digest and sequence)";
    throw new GraftError(`${path}: ${message}`, [{ code: BundleDiagnostics.Bundle_unreadable, category: "error", file: path, message }], 2);
  }
  return { program: parsed.data.program, base: parsed.data.digest, sequence: parsed.data.sequence };
}
