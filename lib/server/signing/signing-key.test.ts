import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

// A database and a sealing secret of this test's own, migrated with the real migration scripts.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "graft-signing-test-"));
const file = path.join(dir, "k.db");
const secretFile = path.join(dir, "config", "graft", "signing-secret");
process.env.DATABASE_URL = `file:${file}`;
process.env.GRAFT_SIGNING_SECRET_FILE = secretFile;
delete process.env.GRAFT_SIGNING_SECRET;

type Keys = typeof import("./signing-key");
let keys: Keys;
let sealed: typeof import("./sealed-key");
let prisma: (typeof import("../db"))["prisma"];

beforeAll(async () => {
  const db = new Database(file);
  const migrations = path.join(__dirname, "..", "..", "..", "prisma", "migrations");
  for (const m of fs.readdirSync(migrations).filter((n) => /^\d/.test(n)).sort()) db.exec(fs.readFileSync(path.join(migrations, m, "migration.sql"), "utf8"));
  db.close();
  keys = await import("./signing-key");
  sealed = await import("./sealed-key");
  prisma = (await import("../db")).prisma;
});

beforeEach(async () => {
  await prisma.signingKey.deleteMany({});
  delete process.env.GRAFT_SIGNING_SECRET;
});

afterAll(async () => {
  await prisma?.$disconnect();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("the server's signing key at rest", () => {
  it("is stored sealed, with a secret file made 0600 outside the database, and unseals to a key that signs", async () => {
    const { publicKeyHex } = await keys.getOrCreateSigningKey();
    expect((fs.statSync(secretFile).mode & 0o777).toString(8)).toBe("600");
    const row = await prisma.signingKey.findFirstOrThrow();
    expect(row.privateKeyPem).toBe("");
    expect(row.privateKeySealed).toMatch(/^graft-sealed-v1:/);
    expect(fs.readFileSync(file).includes("PRIVATE KEY")).toBe(false);
    const key = await keys.loadSigningKey();
    expect(key.publicKey.hex).toBe(publicKeyHex);
    const sig = crypto.sign(null, Buffer.from("m"), key.privateKey);
    expect(crypto.verify(null, Buffer.from("m"), crypto.createPublicKey(key.privateKey), sig)).toBe(true);
  });

  it("refuses to unseal with another secret, naming the setting to fix", async () => {
    await keys.getOrCreateSigningKey();
    process.env.GRAFT_SIGNING_SECRET = "ab".repeat(32);
    await expect(keys.loadSigningKey()).rejects.toThrow(/sealed with another secret.*GRAFT_SIGNING_SECRET/);
  });

  it("refuses a sealed key that was altered, or bound to another public key", async () => {
    const secret = Buffer.alloc(32, 7);
    const s = sealed.seal(Buffer.from("pem"), "aa", secret);
    expect(sealed.unseal(s, "aa", secret).toString()).toBe("pem");
    expect(() => sealed.unseal(s, "bb", secret)).toThrow(/another secret \(or altered\)/);
    const raw = Buffer.from(s.slice("graft-sealed-v1:".length), "base64");
    raw[raw.length - 1] ^= 1;
    expect(() => sealed.unseal("graft-sealed-v1:" + raw.toString("base64"), "aa", secret)).toThrow(/altered/);
    expect(() => sealed.unseal("-----BEGIN PRIVATE KEY-----", "aa", secret)).toThrow(/not sealed/);
  });

  it("seals a key an older Graft stored in the clear, and blanks the clear text", async () => {
    const { privateKey, publicKey } = crypto.generateKeyPairSync("ed25519");
    const hex = (publicKey.export({ format: "jwk" }) as { x: string }).x;
    const publicKeyHex = Buffer.from(hex, "base64url").toString("hex");
    const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    await prisma.signingKey.create({ data: { publicKeyHex, privateKeyPem: pem } });
    expect((await keys.getOrCreateSigningKey()).publicKeyHex).toBe(publicKeyHex);
    const row = await prisma.signingKey.findFirstOrThrow();
    expect(row.privateKeyPem).toBe("");
    expect((await keys.loadSigningKey()).publicKey.hex).toBe(publicKeyHex);
  });

  it("takes a secret that is not 64 hex digits for an error, not a key", () => {
    expect(() => sealed.sealingSecret({ GRAFT_SIGNING_SECRET: "short" })).toThrow(/GRAFT_SIGNING_SECRET: the signing secret must be 64 hex digits/);
  });
});
