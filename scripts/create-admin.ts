/**
 * Creates the first administrator (there is no default account):
 *
 *   GRAFT_PASSWORD='a long passphrase' npx tsx scripts/create-admin.ts --email you@example.com
 *   npx tsx scripts/create-admin.ts --email you@example.com < password-file
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

if (!process.execArgv.some((a) => a.includes("react-server"))) {
  const r = spawnSync(process.execPath, ["--conditions=react-server", "--import", "tsx", fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: "inherit" });
  process.exit(r.status ?? 1);
}
const { createUserFromArgs } = await import("./create-user");
process.exitCode = await createUserFromArgs(process.argv.slice(2).filter((a, i, all) => a !== "--role" && all[i - 1] !== "--role"), "admin");
