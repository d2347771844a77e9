import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseVersionData, versionDataJsonSchema } from "./version-data-schema.js";

describe("version data schema", () => {
  it("is the one documented in docs/version-data.schema.json", () => {
    const committed = JSON.parse(readFileSync(new URL("../../docs/version-data.schema.json", import.meta.url), "utf8"));
    expect(committed).toEqual(JSON.parse(JSON.stringify(versionDataJsonSchema())));
  });

  it("names the file and the first bad field", () => {
    expect(() => parseVersionData({ format: "graft-version-data/1", program: "kvd", digest: "zz" }, "old/kvd.vd.json"))
      .toThrow(expect.objectContaining({ diagnostics: [expect.objectContaining({ file: "old/kvd.vd.json", message: expect.stringContaining("field digest") })] }));
  });
});

describe("version data places", () => {
  const vd = (over: Record<string, unknown>) => ({
    format: "graft-version-data/1", program: "kvd", digest: "0".repeat(64), sequence: 0,
    files: [{ path: "kvd.c", sha256: "x" }], cflags: [], functions: [], types: [], globals: [], updatePoints: [], patches: [],
    ...over,
  });
  const fn = (file: string) => ({
    name: "f", uname: "f", file, line: 1, endLine: 2, isStatic: false, variadic: false, signature: "void (void)", fingerprint: "", stableFingerprint: "",
    source: "", impl: "f", slot: "", addressTaken: false, calls: [], typesUsed: [], hasUpdatePoint: false,
  });
  it("takes the program's own files and headers, wherever they are", () => {
    expect(() => parseVersionData(vd({ functions: [fn("kvd.c"), fn("../include/kvd.h"), fn("/home/me/src/x.h")] }), "kvd.vd.json")).not.toThrow();
  });
  it.each([
    [{ files: [{ path: "kvd.c", sha256: "x" }, { path: "kvd.c", sha256: "y" }] }, "files.1.path: kvd.c is listed twice"],
    [{ files: [{ path: "/etc/passwd", sha256: "x" }] }, "files.0.path: /etc/passwd is a system file"],
    [{ functions: [fn("kvd.c"), fn("/proc/self/environ")] }, "functions.1.file: /proc/self/environ is a system file"],
    [{ functions: [fn("kvd\u001b[2J.c")] }, "functions.0.file: \"kvd\\u001b[2J.c\" is not a file name"],
  ])("refuses a place that is no file of the program (%#)", (over, message) => {
    expect(() => parseVersionData(vd(over), "kvd.vd.json"))
      .toThrow(expect.objectContaining({ diagnostics: [expect.objectContaining({ code: 4013, message: expect.stringContaining(message) })] }));
  });
});
