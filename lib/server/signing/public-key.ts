import "server-only";
import crypto from "node:crypto";
import { prisma } from "../db";

/** docs/bundle-format.md: `graft.pub` is one line `graft-ed25519-public <64 hex>`; the key id is SHA-256(raw key)[0..8]. */
export function publicKeyLine(hex: string): string {
  return `graft-ed25519-public ${hex}\n`;
}

export function keyIdOf(hex: string): string {
  return crypto.createHash("sha256").update(Buffer.from(hex, "hex")).digest().subarray(0, 8).toString("hex");
}

/** The public key only, for pages (null until the worker made one). Never selects the private key. */
export async function getPublicSigningKey(): Promise<{ hex: string; keyId: string; line: string } | null> {
  const k = await prisma.signingKey.findFirst({ where: { active: true }, orderBy: { id: "asc" }, select: { publicKeyHex: true } });
  if (!k || !/^[0-9a-f]{64}$/.test(k.publicKeyHex)) return null;
  return { hex: k.publicKeyHex, keyId: keyIdOf(k.publicKeyHex), line: publicKeyLine(k.publicKeyHex) };
}
