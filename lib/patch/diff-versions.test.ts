import { describe, expect, it } from "vitest";
import { diffVersions } from "./diff-versions.js";
import type { VdFunction, VdType, VersionData } from "../model/version-data.js";

function fn(name: string, over: Partial<VdFunction> = {}): VdFunction {
  return {
    name, uname: name, file: "s.c", line: 1, endLine: 2, isStatic: false, variadic: false, signature: "int (void)",
    fingerprint: `fp-${name}`, stableFingerprint: `st-${name}`, source: `int ${name}(void) {}`, impl: name, slot: `__graft_fp_${name}`,
    addressTaken: false, calls: [], typesUsed: [], hasUpdatePoint: false, ...over,
  };
}
function struct(key: string, fields: [string, string][], over: Partial<VdType> = {}): VdType {
  const f = fields.map(([name, type]) => ({ name, type }));
  return { key, kind: "struct", spelling: `struct ${key}`, file: "s.h", line: 3, wrapped: true, fields: f, version: 0, roomBytes: 32, versions: [{ version: 0, definition: "", fields: f, dataSize: 8, outOfLine: false }], ...over };
}
function vd(over: Partial<VersionData>): VersionData {
  return { format: "graft-version-data/1", program: "p", digest: "0".repeat(64), sequence: 0, files: [], cflags: [], functions: [], types: [], globals: [], updatePoints: [], patches: [], ...over };
}

describe("diffVersions", () => {
  it("tells changed, noise, signature, added and removed functions apart, and pulls in users of changed types and callers of changed signatures", () => {
    const old = vd({
      functions: [fn("body"), fn("noise"), fn("sig"), fn("gone"), fn("user", { typesUsed: ["conn"] }), fn("caller", { calls: ["sig"] }), fn("same")],
      types: [struct("conn", [["fd", "int"]])],
    });
    const next = vd({
      functions: [
        fn("body", { fingerprint: "x", stableFingerprint: "x", source: "changed" }),
        fn("noise", { fingerprint: "moved-line" }),
        fn("sig", { signature: "int (int)" }),
        fn("user", { typesUsed: ["conn"] }), fn("caller", { calls: ["sig"] }), fn("same"), fn("fresh"),
      ],
      types: [struct("conn", [["fd", "int"], ["tag", "int"]])],
    });
    const plan = diffVersions(old, next);
    const status = Object.fromEntries([...plan.functions.values()].map((f) => [f.name, [f.status, f.include]]));
    expect(status).toEqual({
      body: ["changed", true], noise: ["noise", false], sig: ["signature", true], user: ["retyped", true],
      caller: ["caller", true], same: ["same", false], fresh: ["added", true], gone: ["removed", false],
    });
    expect(plan.types.get("conn")).toMatchObject({ status: "changed", from: 0, to: 1 });
    expect(plan.refusals).toEqual([]);
  });

  it("refuses a change to a fixed type, naming it and why it is fixed", () => {
    const fixed = { reason: "struct hdr is used with offsetof", file: "s.c", line: 9 };
    const plan = diffVersions(
      vd({ types: [struct("hdr", [["len", "int"]], { wrapped: false, fixed, versions: [] })] }),
      vd({ types: [struct("hdr", [["len", "long"]], { wrapped: false, fixed, versions: [] })] }),
    );
    expect(plan.refusals).toEqual([expect.objectContaining({ code: 4001, message: expect.stringContaining("struct hdr changed but is fixed") })]);
  });

  it("marks a point unsafe when a changed type is used after it, saying where", () => {
    const point = { id: 3, file: "s.c", line: 40, function: "serve", uname: "serve", restarts: false, typesUsedAfter: ["conn"], functionsCalledAfter: [], globalsUsedAfter: [], typeUseSites: { conn: "s.c:44" }, globalUseSites: {} };
    const plan = diffVersions(
      vd({ types: [struct("conn", [["fd", "int"]])], updatePoints: [point] }),
      vd({ types: [struct("conn", [["fd", "long"]])] }),
    );
    expect(plan.safety).toEqual([expect.objectContaining({ id: 3, safe: false, reasons: [expect.stringContaining("struct conn is used at s.c:44 after this point")] })]);
  });

  it("marks a point unsafe when a global that changes type is used after it, or a signature changes behind a function pointer", () => {
    const point = { id: 1, file: "s.c", line: 10, function: "serve", uname: "serve", restarts: false, typesUsedAfter: [], functionsCalledAfter: ["(*)"], globalsUsedAfter: ["total"], typeUseSites: {}, globalUseSites: { total: "s.c:12" } };
    const g = { name: "total", id: "total", symbol: "total", file: "s.c", line: 2, isStatic: false };
    const plan = diffVersions(
      vd({ functions: [fn("score", { addressTaken: true })], globals: [{ ...g, type: "long" }], updatePoints: [point] }),
      vd({ functions: [fn("score", { addressTaken: true, signature: "int (int)" })], globals: [{ ...g, type: "long long" }] }),
    );
    expect(plan.safety[0].safe).toBe(false);
    expect(plan.safety[0].reasons).toEqual([
      expect.stringContaining("score() changes signature, its address is taken"),
      expect.stringContaining("global total changes type (long -> long long) and is used at s.c:12"),
    ]);
  });

  it("keeps the storage of a global that only changed linkage", () => {
    const g = { name: "table", file: "m.c", line: 3, type: "int[8]", init: undefined };
    const plan = diffVersions(
      vd({ globals: [{ ...g, id: "__graft_s_m_c__table", symbol: "__graft_s_m_c__table", isStatic: true }] }),
      vd({ globals: [{ ...g, id: "table", symbol: "table", isStatic: false }] }),
    );
    expect(plan.globals.get("table")).toMatchObject({ status: "same", symbol: "__graft_s_m_c__table" });
  });
});
