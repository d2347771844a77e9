import "server-only";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/**
 * The signing key is stored sealed (AES-256-GCM) with a secret that lives
 * outside the database: a copy of the database alone, or anything a build
 * could read, does not give the key. The secret is GRAFT_SIGNING_SECRET (64
 * hex digits) or the file GRAFT_SIGNING_SECRET_FILE names; by default
 * $XDG_CONFIG_HOME/graft/signing-secret (mode 0600), made on first use.
 * Every worker that signs must have the same secret.
 */

const PREFIX = "graft-sealed-v1:";
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SealError extends Error {}

export function defaultSecretFile(env: Record<string, string | undefined> = process.env): string {
  const config = env.XDG_CONFIG_HOME || path.join(os.homedir(), ".config");
  return path.join(config, "graft", "signing-secret");
}

/** The sealing secret, made (and written with mode 0600) when neither setting names one and the default file is absent. */
export function sealingSecret(env: Record<string, string | undefined> = process.env): Buffer {
  if (env.GRAFT_SIGNING_SECRET !== undefined) return parseSecret(env.GRAFT_SIGNING_SECRET, "GRAFT_SIGNING_SECRET");
  const file = env.GRAFT_SIGNING_SECRET_FILE || defaultSecretFile(env);
  try {
    return parseSecret(fs.readFileSync(file, "utf8"), file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    // O_EXCL: two workers starting at once keep whichever secret came first.
    fs.writeFileSync(file, crypto.randomBytes(32).toString("hex") + "\n", { mode: 0o600, flag: "wx" });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
  }
  return parseSecret(fs.readFileSync(file, "utf8"), file);
}

function parseSecret(text: string, where: string): Buffer {
  const hex = text.trim();
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new SealError(`${where}: the signing secret must be 64 hex digits (32 bytes)`);
  return Buffer.from(hex, "hex");
}

/** Seals `plain` for the row whose public key is `publicKeyHex` (bound in as associated data). */
export function seal(plain: Buffer, publicKeyHex: string, secret: Buffer): string {
  const iv = crypto.randomBytes(IV_BYTES);
  const cipher = crypto.createCipheriv("aes-256-gcm", secret, iv);
  cipher.setAAD(Buffer.from(publicKeyHex, "utf8"));
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64");
}

export function unseal(sealed: string, publicKeyHex: string, secret: Buffer): Buffer {
  if (!sealed.startsWith(PREFIX)) throw new SealError("the stored signing key is not sealed in a format this version knows");
  const raw = Buffer.from(sealed.slice(PREFIX.length), "base64");
  if (raw.length <= IV_BYTES + TAG_BYTES) throw new SealError("the stored signing key is truncated");
  const decipher = crypto.createDecipheriv("aes-256-gcm", secret, raw.subarray(0, IV_BYTES));
  decipher.setAAD(Buffer.from(publicKeyHex, "utf8"));
  decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
  } catch {
    throw new SealError(
      "the stored signing key was sealed with another secret (or altered): give this worker the same GRAFT_SIGNING_SECRET or GRAFT_SIGNING_SECRET_FILE as the one that made it",
    );
  }
}
