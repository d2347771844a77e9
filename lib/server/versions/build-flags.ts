import "server-only";
import { AppError } from "../errors";

/**
 * Build settings are user input that ends up on gcc's command line: only
 * flags that cannot read or write outside the build directory, or load code
 * into the compiler, are accepted.
 */
const CFLAG_RULES: RegExp[] = [
  /^-[DU][A-Za-z_][A-Za-z0-9_]*(=[A-Za-z0-9_.,:+\-"' ]*)?$/, // macros
  /^-I(?!\/)(?!.*\.\.)[A-Za-z0-9_./-]*$/, // include dirs inside the sources
  /^-O[0-3sgz]?$/,
  /^-g[0-3]?$/,
  /^-std=(c|gnu)(89|90|99|11|17|18|2x|23)$/,
  /^-W(?![lapP],)[a-z0-9=-]*$/, // warnings, not -Wl, -Wa, -Wp
  /^-w$/,
  /^-f(?!plugin)[a-z0-9-]+(=[a-z0-9-]+)?$/,
  /^-m[a-z0-9-]+(=[a-z0-9-]+)?$/,
  /^-pthread$/,
  /^-pedantic$/,
];
const LDFLAG_RULES: RegExp[] = [/^-l[A-Za-z0-9_+.-]+$/, /^-pthread$/, /^-rdynamic$/, /^-O[0-3]?$/];

export function parseFlags(text: string, kind: "cflags" | "ldflags"): string[] {
  const flags = text.split(/\s+/).filter(Boolean);
  const rules = kind === "cflags" ? CFLAG_RULES : LDFLAG_RULES;
  for (const f of flags) {
    if (!rules.some((r) => r.test(f))) throw new AppError("invalid", `The build setting "${f}" is not allowed in ${kind}.`);
  }
  return flags;
}
