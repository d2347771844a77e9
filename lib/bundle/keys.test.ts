/**
 * Key files: graft.key is born 0600 and never overwritten, graft.pub is one
 * line, and every malformed public key file is refused with a message that
 * names the file and the problem.
 */
import { createPrivateKey } from "node:crypto";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { GraftError } from "../model/diagnostics.js";
import { PRIVATE_KEY_FILE, PUBLIC_KEY_FILE } from "./constants.js";
import { computeKeyId, generateKeyPair, parsePublicKeyHex, readPrivateKey, readPublicKey } from "./keys.js";
import { makeTempDir, removeTempDirs } from "./test-fixtures.js";

afterAll(removeTempDirs);

describe("generateKeyPair", () => {
  it("writes graft.key with mode 0600 and graft.pub as one line", () => {
    const dir = join(makeTempDir(), "keys");
    const pair = generateKeyPair(dir);
    expect(pair.privateKeyPath).toBe(join(dir, PRIVATE_KEY_FILE));
    expect(statSync(pair.privateKeyPath).mode & 0o777).toBe(0o600);
    expect(readFileSync(pair.publicKeyPath, "utf8")).toMatch(/^graft-ed25519-public [0-9a-f]{64}\n$/);
    expect(readPublicKey(pair.publicKeyPath)).toEqual(pair.publicKey);
    expect(readPrivateKey(pair.privateKeyPath).publicKey).toEqual(pair.publicKey);
    const pem = readFileSync(pair.privateKeyPath, "utf8");
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(createPrivateKey(pem).asymmetricKeyType).toBe("ed25519");
  });

  it("is 0600 whatever the umask", () => {
    const old = process.umask(0);
    try {
      const pair = generateKeyPair(join(makeTempDir(), "keys"));
      expect(statSync(pair.privateKeyPath).mode & 0o777).toBe(0o600);
    } finally {
      process.umask(old);
    }
  });

  it("refuses to overwrite an existing key, and leaves it as it was", () => {
    const dir = makeTempDir();
    generateKeyPair(dir);
    const before = readFileSync(join(dir, PRIVATE_KEY_FILE));
    expect(() => generateKeyPair(dir)).toThrow(/refusing to overwrite/);
    expect(readFileSync(join(dir, PRIVATE_KEY_FILE))).toEqual(before);
  });

  it("refuses when only graft.pub exists, writing no key", () => {
    const dir = makeTempDir();
    writeFileSync(join(dir, PUBLIC_KEY_FILE), "x\n");
    expect(() => generateKeyPair(dir)).toThrow(/refusing to overwrite/);
    expect(existsSync(join(dir, PRIVATE_KEY_FILE))).toBe(false);
  });

  it("returns nothing that contains the private key", () => {
    const pair = generateKeyPair(join(makeTempDir(), "keys"));
    const pem = readFileSync(pair.privateKeyPath, "utf8");
    const seed = createPrivateKey(pem).export({ format: "jwk" }).d!;
    const shown = JSON.stringify(pair);
    const pemBody = pem.split("\n").slice(1, -2).join("");
    for (const secret of [pemBody, seed, Buffer.from(seed, "base64url").toString("hex"), Buffer.from(seed, "base64url").toString("base64")]) {
      expect(shown).not.toContain(secret);
    }
  });

  it("computes the key id as the first 8 bytes of SHA-256 of the raw key", () => {
    const pair = generateKeyPair(join(makeTempDir(), "keys"));
    expect(computeKeyId(pair.publicKey.raw).toString("hex")).toBe(pair.publicKey.keyId);
    expect(pair.publicKey.keyId).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe("readPublicKey refuses malformed files, naming file and problem", () => {
  const good = "graft-ed25519-public " + "5a".repeat(31) + "1b";
  const cases: Array<[what: string, content: string, message: RegExp]> = [
    ["an empty file", "", /expected the line to start with "graft-ed25519-public "/],
    ["a private key", "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI...\n-----END PRIVATE KEY-----\n", /this is a private key/],
    ["two lines", `${good}\n${good}\n`, /exactly one line/],
    ["a wrong prefix", `graft-rsa-public ${"5a".repeat(32)}\n`, /start with "graft-ed25519-public "/],
    ["two spaces", `graft-ed25519-public  ${"5a".repeat(32)}\n`, /found 2 words/],
    ["an extra word", `${good} comment\n`, /found 2 words/],
    ["a short key", `graft-ed25519-public ${"5a".repeat(31)}\n`, /62 hex characters/],
    ["a long key", `graft-ed25519-public ${"5a".repeat(33)}\n`, /66 hex characters/],
    ["uppercase hex", `graft-ed25519-public ${"5A".repeat(32)}\n`, /uppercase/],
    ["non-hex", `graft-ed25519-public ${"zz".repeat(32)}\n`, /not all hex/],
    ["the all-zero key", `graft-ed25519-public ${"00".repeat(32)}\n`, /small order/],
    ["the identity point", `graft-ed25519-public 01${"00".repeat(31)}\n`, /small order/],
    ["a small-order point with its sign bit set", `graft-ed25519-public ${"ec" + "ff".repeat(30) + "ff"}\n`, /small order/],
    ["a non-canonical point", `graft-ed25519-public ${"f0" + "ff".repeat(30) + "7f"}\n`, /not a canonical/],
  ];
  for (const [what, content, message] of cases) {
    it(what, () => {
      const file = join(makeTempDir(), "graft.pub");
      writeFileSync(file, content);
      let thrown: unknown;
      try {
        readPublicKey(file);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(GraftError);
      const err = thrown as GraftError;
      expect(err.message).toContain(file);
      expect(err.message).toMatch(message);
      expect(err.diagnostics[0]).toMatchObject({ code: 5002, category: "error", file });
    });
  }

  it("a missing file", () => {
    const file = join(makeTempDir(), "nope.pub");
    expect(() => readPublicKey(file)).toThrow(`${file}: cannot read public key: no such file`);
  });

  it("accepts a key without the final newline, and one with CRLF", () => {
    for (const ending of ["", "\r\n"]) {
      const file = join(makeTempDir(), "graft.pub");
      writeFileSync(file, good + ending);
      expect(readPublicKey(file).hex).toBe(good.split(" ")[1]);
    }
  });
});

describe("parsePublicKeyHex", () => {
  it("accepts a real key and describes it", () => {
    const pair = generateKeyPair(join(makeTempDir(), "keys"));
    expect(parsePublicKeyHex(pair.publicKey.hex)).toEqual(pair.publicKey);
  });
});

describe("readPrivateKey", () => {
  it("refuses a public key file without quoting it", () => {
    const pair = generateKeyPair(join(makeTempDir(), "keys"));
    expect(() => readPrivateKey(pair.publicKeyPath)).toThrow(/not a PEM private key/);
  });

  it("refuses a non-Ed25519 key", async () => {
    const { generateKeyPairSync } = await import("node:crypto");
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const file = join(makeTempDir(), "ec.key");
    writeFileSync(file, privateKey.export({ type: "pkcs8", format: "pem" }));
    expect(() => readPrivateKey(file)).toThrow(/expected an Ed25519 key, found ec/);
  });

  it("notes a key file readable by others", () => {
    const pair = generateKeyPair(join(makeTempDir(), "keys"));
    const loose = join(makeTempDir(), "loose.key");
    writeFileSync(loose, readFileSync(pair.privateKeyPath), { mode: 0o644 });
    expect(readPrivateKey(loose).tooOpenMode).toBe(0o644);
    expect(readPrivateKey(pair.privateKeyPath).tooOpenMode).toBeUndefined();
  });
});
