/** Reads a `graft.pub` file for `--trust`: one line `graft-ed25519-public <64 hex>`. */
import { readFile } from "node:fs/promises";
import { GraftError } from "../model/diagnostics.js";

export async function readPublicKeyHex(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new GraftError(`--trust ${file}: cannot read the file`, [{ code: 5001, category: "error", file, message: "cannot read the public key file" }]);
  }
  const m = /^graft-ed25519-public ([0-9a-f]{64})\s*$/.exec(text.trim());
  if (!m) throw new GraftError(`--trust ${file}: not a graft public key`, [{ code: 5002, category: "error", file, line: 1, message: "expected one line 'graft-ed25519-public <64 hex digits>'" }]);
  return m[1];
}
