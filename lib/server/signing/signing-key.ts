import "server-only";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { prisma } from "../db";
import { generateKeyPair, PRIVATE_KEY_FILE, PUBLIC_KEY_FILE, formatPublicKeyLine, parsePublicKeyHex } from "../../bundle";

// Worker only: this file pulls in lib/bundle (pages use ./public-key.ts).

/**
 * The server's Ed25519 signing key. The private half is kept in the database
 * and only ever written to a job's temporary directory (mode 0600) by the
 * worker; no page, action or route selects it.
 */
export async function getOrCreateSigningKey(): Promise<{ id: number; publicKeyHex: string }> {
  const existing = await prisma.signingKey.findFirst({ where: { active: true }, orderBy: { id: "asc" }, select: { id: true, publicKeyHex: true } });
  if (existing) return existing;
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "graft-keygen-"));
  try {
    const pair = generateKeyPair(path.join(dir, "k"));
    const pem = await fs.readFile(pair.privateKeyPath, "utf8");
    await prisma.signingKey.create({ data: { publicKeyHex: pair.publicKey.hex, privateKeyPem: pem } });
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
  // Two workers may race here: everyone uses the oldest active key.
  return prisma.signingKey.findFirstOrThrow({ where: { active: true }, orderBy: { id: "asc" }, select: { id: true, publicKeyHex: true } });
}

/** Writes graft.pub (and, when asked, graft.key with mode 0600) into a job's directory. */
export async function writeSigningKeyFiles(dir: string, opts: { withPrivate: boolean }): Promise<{ pubFile: string; keyFile?: string; publicKeyHex: string }> {
  const { id } = await getOrCreateSigningKey();
  const key = await prisma.signingKey.findUniqueOrThrow({ where: { id } });
  const info = parsePublicKeyHex(key.publicKeyHex);
  if ("error" in info) throw new Error(`stored signing key is unusable: ${info.error}`);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const pubFile = path.join(dir, PUBLIC_KEY_FILE);
  await fs.writeFile(pubFile, formatPublicKeyLine(info));
  if (!opts.withPrivate) return { pubFile, publicKeyHex: info.hex };
  const keyFile = path.join(dir, PRIVATE_KEY_FILE);
  await fs.writeFile(keyFile, key.privateKeyPem, { mode: 0o600 });
  return { pubFile, keyFile, publicKeyHex: info.hex };
}
