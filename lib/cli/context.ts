/**
 * What every command gets besides its own options: where to write, the
 * environment, and the words given after `--`. Commands never touch
 * process.stdout or process.exit themselves, so they can run in a test.
 */

/** Environment variables; not NodeJS.ProcessEnv, which Next.js types make demand NODE_ENV. */
export type Environment = Readonly<Record<string, string | undefined>>;

export interface CliContext {
  /** Results: one line per call, for people and scripts. */
  out(line: string): void;
  /** Progress, warnings and errors. */
  err(line: string): void;
  env: Environment;
  cwd: string;
  /** Words after the first `--` (compiler and linker flags). */
  passthrough: string[];
  /** --debug: stack traces on errors. */
  debug: boolean;
  /** Set by the command that ran; main returns it. */
  exitCode: number;
}

export function createProcessContext(passthrough: string[]): CliContext {
  exitQuietlyOnClosedPipe();
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    env: process.env,
    cwd: process.cwd(),
    passthrough,
    debug: false,
    exitCode: 0,
  };
}

/**
 * `graft bundle ... | head -1` closes our stdout early. Like any Unix tool
 * (SIGPIPE), stop there, quietly, instead of crashing on EPIPE. By then the
 * work is done: commands print only after it.
 */
function exitQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code !== "EPIPE") throw e;
      process.exit(process.exitCode ?? 0);
    });
  }
}
