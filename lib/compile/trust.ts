/** Reads the `graft.pub` files given with `--trust`, with lib/bundle's checks (the runtime would refuse every bundle signed by a bad key). */
import { readPublicKey } from "../bundle/index.js";

export async function readPublicKeyHex(file: string): Promise<string> {
  return readPublicKey(file).hex;
}
