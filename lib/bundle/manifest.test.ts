/**
 * The manifest has one spelling: formatManifest's output parses back to the
 * same value, and every other spelling is refused with the line it is on.
 */
import { describe, expect, it } from "vitest";
import { formatManifest, parseManifest } from "./manifest.js";
import type { BundleManifest } from "./types.js";

const digest = "ab".repeat(32);
const manifest: BundleManifest = {
  formatVersion: 1,
  program: "kvd",
  base: "3f".repeat(32),
  target: "77".repeat(32),
  sequence: 4,
  created: "2026-11-26T23:50:00Z",
  files: [
    { name: "patch.so", size: 18312, sha256: digest },
    { name: "patch.c", size: 5120, sha256: digest },
    { name: "summary.json", size: 900, sha256: digest },
  ],
};
const text = formatManifest(manifest).toString();

describe("formatManifest", () => {
  it("writes the documented layout", () => {
    expect(text).toBe(
      [
        "graft-bundle 1",
        "program kvd",
        `base ${"3f".repeat(32)}`,
        `target ${"77".repeat(32)}`,
        "sequence 4",
        "created 2026-11-26T23:50:00Z",
        `file patch.so 18312 ${digest}`,
        `file patch.c 5120 ${digest}`,
        `file summary.json 900 ${digest}`,
        "",
      ].join("\n"),
    );
  });

  it("accepts 64 files, bundle.c's limit", () => {
    const many = text + Array.from({ length: 61 }, (_, i) => `file f${i} 1 ${digest}\n`).join("");
    const r = parseManifest(Buffer.from(many));
    expect(r.ok && r.manifest.files.length).toBe(64);
  });

  it("round-trips", () => {
    expect(parseManifest(Buffer.from(text))).toEqual({ ok: true, manifest });
  });

  it("refuses to write what could not be read back", () => {
    expect(() => formatManifest({ ...manifest, program: "two words" })).toThrow(/program name/);
    expect(() => formatManifest({ ...manifest, files: [] })).toThrow(/no files/);
    expect(() => formatManifest({ ...manifest, files: manifest.files.slice(1) })).toThrow(/patch.so is not listed/);
    expect(() => formatManifest({ ...manifest, files: [...manifest.files, manifest.files[0]] })).toThrow(/listed twice/);
    expect(() => formatManifest({ ...manifest, files: [{ name: "../x", size: 1, sha256: digest }] })).toThrow(/not plain/);
    expect(() => formatManifest({ ...manifest, sequence: -1 })).toThrow(/sequence/);
  });
});

describe("parseManifest refuses other spellings", () => {
  const replace = (from: string, to: string) => {
    expect(text).toContain(from);
    return text.replace(from, to);
  };
  const cases: Array<[what: string, input: string | Buffer, reason: RegExp]> = [
    ["no final newline", text.slice(0, -1), /does not end with a newline/],
    ["CRLF line ends", text.replace(/\n/g, "\r\n"), /line 1/],
    ["another format version", replace("graft-bundle 1", "graft-bundle 2"), /line 1: expected "graft-bundle 1"/],
    ["fields out of order", replace(`base ${"3f".repeat(32)}\ntarget ${"77".repeat(32)}`, `target ${"77".repeat(32)}\nbase ${"3f".repeat(32)}`), /line 3: expected "base/],
    ["a missing field", replace("created 2026-11-26T23:50:00Z\n", ""), /line 6: expected "created/],
    ["two spaces", replace("program kvd", "program  kvd"), /malformed program/],
    ["uppercase digest", replace(`base ${"3f".repeat(32)}`, `base ${"3F".repeat(32)}`), /malformed base/],
    ["a short digest", replace(`target ${"77".repeat(32)}`, `target ${"77".repeat(31)}`), /malformed target/],
    ["a leading zero", replace("sequence 4", "sequence 04"), /malformed sequence/],
    ["a negative sequence", replace("sequence 4", "sequence -4"), /malformed sequence/],
    ["a sequence beyond 2^53", replace("sequence 4", "sequence 18446744073709551615"), /malformed sequence/],
    ["a local time", replace("2026-11-26T23:50:00Z", "2026-11-26T23:50:00+01:00"), /malformed created/],
    ["fractional seconds", replace("2026-11-26T23:50:00Z", "2026-11-26T23:50:00.000Z"), /malformed created/],
    ["a comment", replace("sequence 4", "sequence 4  # must be above"), /malformed sequence/],
    ["a blank line", text + "\n", /expected "file NAME SIZE SHA256"/],
    ["an unknown line", text + "signer me\n", /expected "file NAME SIZE SHA256"/],
    ["a file name with a slash", replace("file patch.c ", "file ../patch.c "), /not plain/],
    ["a duplicate file", text + `file patch.c 1 ${digest}\n`, /listed twice/],
    ["a size with a leading zero", replace("5120", "05120"), /malformed size/],
    ["a file line with five words", replace(`file patch.c 5120 ${digest}`, `file patch.c 5120 ${digest} x`), /expected "file NAME SIZE SHA256"/],
    ["no files", text.split("file ")[0], /lists no files/],
    ["no patch.so", replace(`file patch.so 18312 ${digest}\n`, ""), /does not list patch.so/],
    ["more than 64 files", text + Array.from({ length: 62 }, (_, i) => `file f${i} 1 ${digest}\n`).join(""), /more than 64 files/],
    ["invalid UTF-8", Buffer.concat([Buffer.from(text), Buffer.from([0xc3, 0x28, 0x0a])]), /not valid UTF-8/],
  ];
  for (const [what, input, reason] of cases) {
    it(what, () => {
      const r = parseManifest(Buffer.isBuffer(input) ? input : Buffer.from(input));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toMatch(reason);
    });
  }
});
