/**
 * Creates an account from the command line (no default passwords anywhere):
 *
 *   GRAFT_PASSWORD='…' npx tsx scripts/create-user.ts --email EMAIL --role author|reviewer|admin [--name NAME]
 *   npx tsx scripts/create-user.ts --email EMAIL --role reviewer < password-file
 *
 * The password comes from GRAFT_PASSWORD or from standard input. DATABASE_URL
 * selects the database (default prisma/dev.db).
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

// lib/server is server-only code: re-run under React's server export conditions.
if (!process.execArgv.some((a) => a.includes("react-server"))) {
  const r = spawnSync(process.execPath, ["--conditions=react-server", "--import", "tsx", fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: "inherit" });
  process.exit(r.status ?? 1);
}

export async function readPassword(): Promise<string> {
  if (process.env.GRAFT_PASSWORD) return process.env.GRAFT_PASSWORD;
  if (process.stdin.isTTY) process.stderr.write("password (then Enter, Ctrl-D): ");
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
}

export async function createUserFromArgs(argv: string[], defaultRole?: string): Promise<number> {
  const { parseArgs } = await import("node:util");
  const { values } = parseArgs({ args: argv, options: { email: { type: "string" }, role: { type: "string" }, name: { type: "string" } } });
  const role = values.role ?? defaultRole;
  if (!values.email || !role) {
    process.stderr.write("usage: create-user --email EMAIL --role author|reviewer|admin [--name NAME]  (password from GRAFT_PASSWORD or stdin)\n");
    return 2;
  }
  const { createUser } = await import("../lib/server/users/create-user");
  const { prisma } = await import("../lib/server/db");
  try {
    const password = await readPassword();
    const u = await createUser({ actor: null, email: values.email, name: values.name ?? values.email.split("@")[0], role: role as "admin", password });
    process.stdout.write(`created ${u.role} ${u.email} (id ${u.id})\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`create-user: ${e instanceof Error ? e.message : e}\n`);
    return 1;
  } finally {
    await prisma.$disconnect();
  }
}

if (process.execArgv.some((a) => a.includes("react-server")) && process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await createUserFromArgs(process.argv.slice(2));
}
