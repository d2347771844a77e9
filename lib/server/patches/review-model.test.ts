import { describe, expect, it } from "vitest";
import { compareFunctions, compareTypes, judgeUpdatePoints } from "./review-model";
import type { VdFunction, VdType, VdUpdatePoint } from "../../model/version-data";

const fn = (uname: string, over: Partial<VdFunction> = {}): VdFunction => ({
  name: uname, uname, file: "a.c", line: 1, endLine: 3, isStatic: false, variadic: false, signature: "int (int)",
  fingerprint: "f1", source: `int ${uname}(int x) { return x; }`, impl: uname, slot: uname, addressTaken: false,
  calls: [], typesUsed: [], hasUpdatePoint: false, ...over,
} as VdFunction);

const ty = (key: string, fields: [string, string][]): VdType => ({
  key, kind: "struct", spelling: `struct ${key}`, file: "a.c", line: 1, wrapped: true,
  fields: fields.map(([name, type]) => ({ name, type })), version: 0, versions: [],
} as VdType);

describe("review model", () => {
  it("classifies function changes and sets noise apart", () => {
    const out = compareFunctions(
      [fn("same"), fn("body"), fn("ws"), fn("gone")],
      [fn("same"), fn("body", { fingerprint: "f2", source: "int body(int x) { return x + 1; }" }), fn("ws", { source: "int ws(int x) {\n  return x; }" }), fn("added")],
    );
    expect(Object.fromEntries(out.map((f) => [f.uname, f.status]))).toEqual({ body: "changed", ws: "noise", added: "added", gone: "removed" });
  });

  it("builds field tables and judges update points", () => {
    const types = compareTypes([ty("item", [["a", "int"], ["b", "int"]])], [ty("item", [["a", "long"], ["c", "int"]])]);
    expect(types[0].fields).toEqual([
      { name: "a", oldType: "int", newType: "long", status: "changed" },
      { name: "c", oldType: undefined, newType: "int", status: "added" },
      { name: "b", oldType: "int", status: "removed" },
    ]);
    const v = judgeUpdatePoints(
      [
        { id: 1, file: "a.c", line: 9, function: "loop", typesUsedAfter: ["item"], functionsCalledAfter: [], typeUseSites: { item: "a.c:10" } },
        { id: 2, file: "a.c", line: 20, function: "main", typesUsedAfter: [], functionsCalledAfter: [], typeUseSites: {} },
      ] as unknown as VdUpdatePoint[],
      types,
      [],
    );
    expect(v.map((p) => p.safe)).toEqual([false, true]);
    expect(v[0].reasons[0]).toContain("a.c:10");
  });
});
