/**
 * The negative matrix: every region of a bundle tampered with, truncation at
 * every offset, trailing bytes, reordered and missing files, wrong keys. Each
 * must be refused with the code docs/bundle-format.md gives, and a refusal
 * must carry nothing but its code and reason.
 */
import { createHash, generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_MANIFEST_BYTES } from "./constants.js";
import { createBundle } from "./create.js";
import { computeKeyId, generateKeyPair, readPrivateKey } from "./keys.js";
import { encodeBundle, readFrame } from "./layout.js";
import { signManifest } from "./signature.js";
import { BASE, makePatchFixture, makeTempDir, removeTempDirs, mapRegions, type PatchFixture, type Region } from "./test-fixtures.js";
import type { BundleRefusalCode, VerifyResult } from "./types.js";
import { verifyBundle } from "./verify.js";

afterAll(removeTempDirs);

let fx: PatchFixture;
let good: Buffer;
let trusted: string[];
let regions: Region[];

beforeAll(() => {
  fx = makePatchFixture({ xform: true });
  const out = join(fx.root, "p.graft");
  createBundle({ patchDir: fx.patchDir, key: fx.keys.privateKeyPath, out, created: new Date("2026-11-26T23:50:00Z") });
  good = readFileSync(out);
  trusted = [fx.keys.publicKey.hex];
  regions = mapRegions(good);
});

function region(name: string): Region {
  const r = regions.find((x) => x.name === name);
  if (!r) throw new Error(`no region ${name} in ${regions.map((x) => x.name).join(", ")}`);
  return r;
}

function flip(bytes: Buffer, offset: number, mask = 0x01): Buffer {
  const copy = Buffer.from(bytes);
  copy[offset] ^= mask;
  return copy;
}

function expectRefused(result: VerifyResult, code: BundleRefusalCode): void {
  if (result.ok) throw new Error(`expected refusal ${code}, got ok`);
  expect({ code: result.code, reason: result.reason }).toEqual({ code, reason: expect.any(String) });
  // Never partial contents: a refusal has exactly these three fields.
  expect(Object.keys(result).sort()).toEqual(["code", "ok", "reason"]);
}

/** A bundle signed by `key` over arbitrary manifest text, files as given. */
function forge(manifestText: string, files: Array<{ name: string; content: Buffer }>, keyFile = fx.keys.privateKeyPath): Buffer {
  const key = readPrivateKey(keyFile);
  const manifestBytes = Buffer.from(manifestText);
  return encodeBundle({ manifestBytes, keyId: computeKeyId(key.publicKey.raw), signature: signManifest(manifestBytes, key.privateKey), files });
}

function sha(b: Buffer): string {
  return createHash("sha256").update(b).digest("hex");
}

describe("verifyBundle accepts", () => {
  it("the bundle createBundle wrote, with every file", () => {
    const r = verifyBundle(good, trusted);
    if (!r.ok) throw new Error(r.reason);
    expect([...r.files.keys()]).toEqual(["patch.so", "patch.c", "xform.c", "summary.json"]);
    expect(r.files.get("summary.json")).toEqual(fx.manifestJson);
    expect(r.keyId).toBe(fx.keys.publicKey.keyId);
  });

  it("a bundle signed by any one of several trusted keys", () => {
    const other = generateKeyPair(join(makeTempDir(), "k")).publicKey.hex;
    expect(verifyBundle(good, [other, fx.keys.publicKey.hex]).ok).toBe(true);
  });

  it("returns copies: changing the input afterwards changes nothing", () => {
    const input = Buffer.from(good);
    const r = verifyBundle(input, trusted);
    if (!r.ok) throw new Error(r.reason);
    const before = Buffer.from(r.files.get("patch.so")!);
    input.fill(0);
    expect(r.files.get("patch.so")).toEqual(before);
  });

  it("a manifest that matches what the running program expects", () => {
    expect(verifyBundle(good, trusted, { program: "kvd", base: BASE, sequence: 3 }).ok).toBe(true);
  });
});

describe("every byte region tampered", () => {
  // Expected code per region; sampled at the first, middle and last byte.
  const matrix: Array<[regionName: string, code: BundleRefusalCode]> = [
    ["magic", "bad-format"],
    ["manifest", "bad-signature"],
    ["key id", "untrusted-key"],
    ["signature", "bad-signature"],
    ["patch.so name", "bad-format"],
    ["patch.so size", "digest-mismatch"],
    ["patch.so content", "digest-mismatch"],
    ["patch.c name length", "bad-format"],
    ["patch.c name", "bad-format"],
    ["patch.c size", "digest-mismatch"],
    ["patch.c content", "digest-mismatch"],
    ["xform.c name", "bad-format"],
    ["xform.c content", "digest-mismatch"],
    ["summary.json name length", "bad-format"],
    ["summary.json name", "bad-format"],
    ["summary.json size", "digest-mismatch"],
    ["summary.json content", "digest-mismatch"],
  ];
  for (const [name, code] of matrix) {
    it(`${name} -> ${code}`, () => {
      const r = region(name);
      for (const at of new Set([r.start, (r.start + r.end - 1) >> 1, r.end - 1])) {
        expectRefused(verifyBundle(flip(good, at), trusted), code);
      }
    });
  }

  it("every single byte of the bundle, one at a time, is refused", () => {
    for (let at = 0; at < good.length; at++) {
      const r = verifyBundle(flip(good, at, 0x80), trusted);
      expect(r.ok, `byte ${at} tampered was accepted`).toBe(false);
    }
  });

  it("patch.so name length -> bad-format", () => {
    const r = region("patch.so name length");
    expectRefused(verifyBundle(flip(good, r.start), trusted), "bad-format"); // 8 -> 9
    expectRefused(verifyBundle(flip(good, r.start + 1), trusted), "bad-format"); // 8 -> 264 > 255
  });

  describe("manifest length", () => {
    const setLength = (n: number) => {
      const copy = Buffer.from(good);
      copy.writeUInt32LE(n, 8);
      return copy;
    };
    const m = () => good.readUInt32LE(8);
    it("0 -> bad-format", () => expectRefused(verifyBundle(setLength(0), trusted), "bad-format"));
    it("above 1 MiB -> bad-format", () => expectRefused(verifyBundle(setLength(MAX_MANIFEST_BYTES + 1), trusted), "bad-format"));
    it("past the end of the file -> bad-format", () => expectRefused(verifyBundle(setLength(good.length), trusted), "bad-format"));
    it("high byte flipped -> bad-format", () => expectRefused(verifyBundle(flip(good, 11), trusted), "bad-format"));
    // One byte off: the key id is read one byte early or late, and names no trusted key.
    it("one more -> untrusted-key", () => expectRefused(verifyBundle(setLength(m() + 1), trusted), "untrusted-key"));
    it("one less -> untrusted-key", () => expectRefused(verifyBundle(setLength(m() - 1), trusted), "untrusted-key"));
  });
});

describe("truncated", () => {
  it("at every offset -> bad-format", () => {
    for (let len = 0; len < good.length; len++) {
      expectRefused(verifyBundle(good.subarray(0, len), trusted), "bad-format");
    }
  });

  it("at each region boundary -> bad-format with a reason that says so", () => {
    for (const r of regions) {
      const result = verifyBundle(good.subarray(0, r.start), trusted);
      expectRefused(result, "bad-format");
      if (!result.ok) expect(result.reason).toMatch(/truncated|too short|missing/);
    }
  });
});

describe("body does not match the manifest", () => {
  const frameEnd = () => region("signature").end;
  const file = (name: string) => good.subarray(region(`${name} name length`).start, region(`${name} content`).end);

  it("one trailing byte -> bad-format", () => {
    expectRefused(verifyBundle(Buffer.concat([good, Buffer.from([0])]), trusted), "bad-format");
  });

  it("an extra file not named in the manifest -> bad-format", () => {
    const extra = encodeBundle({ manifestBytes: Buffer.from("x"), keyId: Buffer.alloc(8), signature: Buffer.alloc(64), files: [{ name: "evil.so", content: Buffer.from("x") }] });
    const frame = readFrame(extra);
    if (!frame.ok) throw new Error(frame.reason);
    const entry = extra.subarray(frame.frame.bodyOffset);
    expectRefused(verifyBundle(Buffer.concat([good, entry]), trusted), "bad-format");
  });

  it("files reordered -> bad-format", () => {
    const swapped = Buffer.concat([good.subarray(0, frameEnd()), file("patch.c"), file("patch.so"), file("xform.c"), file("summary.json")]);
    expect(swapped.length).toBe(good.length);
    const r = verifyBundle(swapped, trusted);
    expectRefused(r, "bad-format");
    if (!r.ok) expect(r.reason).toMatch(/out of order/);
  });

  it("a listed file left out -> bad-format", () => {
    const missing = Buffer.concat([good.subarray(0, frameEnd()), file("patch.so"), file("xform.c"), file("summary.json")]);
    expectRefused(verifyBundle(missing, trusted), "bad-format");
  });

  it("a file sent twice -> bad-format", () => {
    const twice = Buffer.concat([good, file("summary.json")]);
    expectRefused(verifyBundle(twice, trusted), "bad-format");
  });

  it("a file replaced by other content of the same size -> digest-mismatch", () => {
    const r = region("patch.so content");
    const copy = Buffer.from(good);
    copy.fill(0x90, r.start, r.end);
    expectRefused(verifyBundle(copy, trusted), "digest-mismatch");
  });
});

describe("keys", () => {
  it("no trusted keys -> unsigned", () => {
    expectRefused(verifyBundle(good, []), "unsigned");
  });

  it("the container's shape is judged before the keys, as in bundle.c", () => {
    expectRefused(verifyBundle(good.subarray(0, 20), []), "bad-format");
  });

  it("a signature with a small-order R or a non-canonical S -> bad-signature, as libsodium says", () => {
    const at = region("signature").start;
    const smallR = Buffer.from(good);
    smallR.fill(0, at, at + 32);
    smallR[at] = 1; // the identity point
    expectRefused(verifyBundle(smallR, trusted), "bad-signature");
    // S + L verifies under a lax verifier (same point), but is not canonical.
    const bigS = Buffer.from(good);
    let carry = 0;
    const L = Buffer.from("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010", "hex");
    for (let i = 0; i < 32; i++) {
      const sum = bigS[at + 32 + i] + L[i] + carry;
      bigS[at + 32 + i] = sum & 0xff;
      carry = sum >> 8;
    }
    expectRefused(verifyBundle(bigS, trusted), "bad-signature");
  });

  it("a different trusted key -> untrusted-key", () => {
    const other = generateKeyPair(join(makeTempDir(), "k")).publicKey.hex;
    expectRefused(verifyBundle(good, [other]), "untrusted-key");
  });

  it("signed by another key that claims the trusted key's id -> bad-signature", () => {
    const { privateKey } = generateKeyPairSync("ed25519");
    const r = readFrame(good);
    if (!r.ok) throw new Error(r.reason);
    const forged = Buffer.from(good);
    signManifest(r.frame.manifestBytes, privateKey).copy(forged, region("signature").start);
    expectRefused(verifyBundle(forged, trusted), "bad-signature");
  });

  it("malformed trusted keys are the caller's error, thrown before reading the bundle", () => {
    for (const bad of ["", "zz".repeat(32), "AB".repeat(32), "ab".repeat(31), "00".repeat(32)]) {
      expect(() => verifyBundle(good, [bad])).toThrow(/trusted key 1 is malformed/);
    }
  });
});

describe("the signature is checked before the manifest is parsed", () => {
  it("a garbled manifest with the original signature -> bad-signature, not bad-format", () => {
    const r = region("manifest");
    const copy = Buffer.from(good);
    copy.fill(0xff, r.start, r.end); // not UTF-8, not a manifest
    expectRefused(verifyBundle(copy, trusted), "bad-signature");
  });

  it("a malformed manifest that is properly signed -> bad-format", () => {
    const so = Buffer.from("so");
    const cases = [
      `graft-bundle 2\nprogram kvd\n`,
      `graft-bundle 1\nprogram kvd\nbase ${BASE}\n`,
      `graft-bundle 1\nprogram kvd\nbase ${BASE}\ntarget ${BASE}\nsequence 04\ncreated 2026-11-26T23:50:00Z\nfile patch.so 2 ${sha(so)}\n`,
      `graft-bundle 1\nprogram kvd\nbase ${BASE}\ntarget ${BASE}\nsequence 4\ncreated 2026-11-26T23:50:00Z\n`,
      `graft-bundle 1\nprogram kvd\nbase ${BASE}\ntarget ${BASE}\nsequence 4\ncreated 2026-11-26T23:50:00Z\nfile patch.so 2 ${sha(so)}`,
    ];
    for (const text of cases) expectRefused(verifyBundle(forge(text, [{ name: "patch.so", content: so }]), trusted), "bad-format");
  });

  it("a properly signed manifest without patch.so -> bad-format", () => {
    const c = Buffer.from("c");
    const text = `graft-bundle 1\nprogram kvd\nbase ${BASE}\ntarget ${BASE}\nsequence 4\ncreated 2026-11-26T23:50:00Z\nfile patch.c 1 ${sha(c)}\n`;
    expectRefused(verifyBundle(forge(text, [{ name: "patch.c", content: c }]), trusted), "bad-format");
  });
});

describe("what the running program checks, given offline", () => {
  it("another program -> wrong-program", () => expectRefused(verifyBundle(good, trusted, { program: "httpd" }), "wrong-program"));
  it("another running version -> wrong-base", () => expectRefused(verifyBundle(good, trusted, { base: "00".repeat(32) }), "wrong-base"));
  it("same sequence -> replay", () => expectRefused(verifyBundle(good, trusted, { sequence: 4 }), "replay"));
  it("lower sequence -> replay", () => expectRefused(verifyBundle(good, trusted, { sequence: 9 }), "replay"));
  it("integrity comes first: a tampered file is digest-mismatch even for the wrong program", () => {
    expectRefused(verifyBundle(flip(good, region("patch.so content").start), trusted, { program: "httpd" }), "digest-mismatch");
  });
});
