import "server-only";
import fs from "node:fs/promises";
import path from "node:path";
import { prisma } from "../db";
import { generateKeyPairInMemory, PUBLIC_KEY_FILE, formatPublicKeyLine, parsePublicKeyHex, signingKeyFromPem, type SigningKey } from "../../bundle";
import { seal, sealingSecret, unseal } from "./sealed-key";

// Worker only: this file pulls in lib/bundle (pages use ./public-key.ts).

/**
 * The server's Ed25519 signing key. The private half is kept in the database
 * sealed with a secret from outside it (sealed-key.ts) and is only ever
 * unsealed in the memory of the job that signs, after its build: it never
 * touches a file, so no sandboxed compiler can see it. No page, action or
 * route selects it.
 */
export async function getOrCreateSigningKey(): Promise<{ id: number; publicKeyHex: string }> {
  const secret = sealingSecret();
  const existing = await prisma.signingKey.findFirst({ where: { active: true }, orderBy: { id: "asc" }, select: { id: true, publicKeyHex: true } });
  if (existing) {
    await sealLegacyKeys(secret);
    return existing;
  }
  const pair = generateKeyPairInMemory();
  try {
    await prisma.signingKey.create({ data: { publicKeyHex: pair.publicKey.hex, privateKeySealed: seal(pair.pem, pair.publicKey.hex, secret) } });
  } finally {
    pair.pem.fill(0);
  }
  // Two workers may race here: everyone uses the oldest active key.
  return prisma.signingKey.findFirstOrThrow({ where: { active: true }, orderBy: { id: "asc" }, select: { id: true, publicKeyHex: true } });
}

/** Keys stored in the clear by an older Graft are sealed, and the clear text blanked, the first time a worker looks. */
async function sealLegacyKeys(secret: Buffer): Promise<void> {
  const legacy = await prisma.signingKey.findMany({ where: { privateKeyPem: { not: "" } } });
  for (const k of legacy) {
    const pem = Buffer.from(k.privateKeyPem, "utf8");
    try {
      await prisma.signingKey.update({ where: { id: k.id }, data: { privateKeySealed: seal(pem, k.publicKeyHex, secret), privateKeyPem: "" } });
    } finally {
      pem.fill(0);
    }
  }
}

/** The private key, unsealed into memory, for the one signature a bundle job makes. */
export async function loadSigningKey(): Promise<SigningKey> {
  const { id } = await getOrCreateSigningKey();
  const row = await prisma.signingKey.findUniqueOrThrow({ where: { id } });
  const key = signingKeyFromPem(unseal(row.privateKeySealed, row.publicKeyHex, sealingSecret()), `signing key ${id} in the database`);
  if (key.publicKey.hex !== row.publicKeyHex) throw new Error(`signing key ${id}: the sealed private key does not match its public key`);
  return key;
}

/** Writes graft.pub into a job's directory (what `graft compile --trust` embeds). */
export async function writePublicKeyFile(dir: string): Promise<{ pubFile: string; publicKeyHex: string }> {
  const { publicKeyHex } = await getOrCreateSigningKey();
  const info = parsePublicKeyHex(publicKeyHex);
  if ("error" in info) throw new Error(`stored signing key is unusable: ${info.error}`);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const pubFile = path.join(dir, PUBLIC_KEY_FILE);
  await fs.writeFile(pubFile, formatPublicKeyLine(info));
  return { pubFile, publicKeyHex: info.hex };
}
