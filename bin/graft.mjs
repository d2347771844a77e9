#!/usr/bin/env node
// The `graft` command. Runs lib/cli/main.ts through tsx's loader, resolved
// from this file's own location so that it works from any directory (and
// with the project's tsconfig, whatever the current directory holds).
import { fileURLToPath } from "node:url";
import { register } from "tsx/esm/api";

register({ tsconfig: fileURLToPath(new URL("../tsconfig.json", import.meta.url)) });
const { main } = await import(new URL("../lib/cli/main.ts", import.meta.url).href);
process.exitCode = await main(process.argv.slice(2));
