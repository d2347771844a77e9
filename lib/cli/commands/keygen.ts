/** `graft keygen -o DIR`: a signing key pair. Prints the public half only. */
import type { Command } from "commander";
import { formatPublicKeyLine, generateKeyPair } from "../../bundle/index.js";
import type { CliContext } from "../context.js";
import { defineAction } from "../define-action.js";
import { ExitCode } from "../exit-codes.js";
import { resolve } from "node:path";
import { checkOutputDir } from "../check-inputs.js";

interface KeygenOptions {
  out: string;
}

export function registerKeygen(program: Command, ctx: CliContext): void {
  program
    .command("keygen")
    .description("create a signing key pair: DIR/graft.key (private, mode 0600) and DIR/graft.pub")
    .requiredOption("-o, --out <dir>", "directory for the key files (created if missing; existing keys are never overwritten)")
    .action(
      defineAction(ctx, "keygen", (opts: KeygenOptions) => {
        checkOutputDir(opts.out, ctx.cwd);
        const pair = generateKeyPair(resolve(ctx.cwd, opts.out));
        ctx.out(`wrote ${pair.privateKeyPath} (private key, mode 0600: keep it secret, never commit it)`);
        ctx.out(`wrote ${pair.publicKeyPath}`);
        ctx.out(`key id ${pair.publicKey.keyId}`);
        ctx.out(formatPublicKeyLine(pair.publicKey).trimEnd());
        return ExitCode.Ok;
      }),
    );
}
