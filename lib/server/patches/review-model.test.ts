import { describe, expect, it } from "vitest";
import { buildReviewModel } from "./review-model";
import type { VdFunction, VdType, VdUpdatePoint, VersionData } from "../../model/version-data";

const fn = (uname: string, over: Partial<VdFunction> = {}): VdFunction => ({
  name: uname, uname, file: "a.c", line: 1, endLine: 3, isStatic: false, variadic: false, signature: "int (int)",
  fingerprint: "f1", stableFingerprint: "s1", source: `int ${uname}(int x) { return x; }`, impl: uname, slot: `__graft_fp_${uname}`,
  addressTaken: false, calls: [], typesUsed: [], hasUpdatePoint: false, ...over,
} as VdFunction);

const ty = (key: string, fields: [string, string][]): VdType => ({
  key, kind: "struct", spelling: `struct ${key}`, file: "a.c", line: 1, wrapped: true,
  fields: fields.map(([name, type]) => ({ name, type })), version: 0, versions: [],
} as VdType);

const point = (id: number, fnName: string, typesUsedAfter: string[], typeUseSites: Record<string, string> = {}) =>
  ({ id, file: "a.c", line: 9 + id, function: fnName, typesUsedAfter, functionsCalledAfter: [], globalsUsedAfter: [], typeUseSites }) as unknown as VdUpdatePoint;

const vd = (over: Partial<VersionData>): VersionData => ({
  program: "p", digest: "d", sequence: 0, functions: [], types: [], globals: [], updatePoints: [], ...over,
} as unknown as VersionData);

describe("review model before the patch is generated (the engine's diff)", () => {
  it("classifies function changes and sets noise apart", () => {
    const m = buildReviewModel(
      vd({ functions: [fn("same"), fn("body"), fn("ws"), fn("gone")] }),
      vd({ functions: [fn("same"), fn("body", { fingerprint: "f2", stableFingerprint: "s2", source: "int body(int x) { return x + 1; }" }), fn("ws", { source: "int ws(int x) {\n  return x; }" }), fn("added")] }),
    );
    expect(m.source).toBe("version-data");
    expect(Object.fromEntries(m.functions.map((f) => [f.uname, f.status]))).toEqual({ body: "changed", ws: "noise", added: "added", gone: "removed" });
  });

  it("lists the callers a changed direct function drags into the patch", () => {
    const direct = { direct: true, slot: "", isStatic: true };
    const base = [fn("helper", direct), fn("mid", { ...direct, calls: ["helper"] }), fn("top", { calls: ["mid"] }), fn("other")];
    const m = buildReviewModel(vd({ functions: base }), vd({ functions: base.map((f) => (f.uname === "helper" ? { ...f, fingerprint: "f2", stableFingerprint: "s2" } : f)) }));
    expect(Object.fromEntries(m.functions.map((f) => [f.uname, f.status]))).toEqual({ helper: "changed", mid: "caller", top: "caller" });
  });

  it("builds field tables and judges update points", () => {
    const m = buildReviewModel(
      vd({ types: [ty("item", [["a", "int"], ["b", "int"]])], updatePoints: [point(1, "loop", ["item"], { item: "a.c:10" }), point(2, "main", [])] }),
      vd({ types: [ty("item", [["a", "long"], ["c", "int"]])] }),
    );
    expect(m.types[0].fields).toEqual([
      { name: "a", oldType: "int", newType: "long", status: "changed" },
      { name: "c", oldType: undefined, newType: "int", status: "added" },
      { name: "b", oldType: "int", status: "removed" },
    ]);
    expect(m.updatePoints.map((p) => p.safe)).toEqual([false, true]);
    expect(m.updatePoints[0].reasons[0]).toContain("a.c:10");
    expect(m.threads).toEqual([]);
  });

  it("names each running thread and the points it must wait at", () => {
    const m = buildReviewModel(
      vd({
        types: [ty("item", [["a", "int"]])], updatePoints: [point(1, "loop", ["item"], { item: "a.c:10" }), point(2, "main", [])],
        threads: [{ entry: "main", uname: "main", file: "a.c", line: 3, points: [2] }, { entry: "worker", uname: "worker", file: "a.c", line: 9, points: [1] }],
      }),
      vd({ types: [ty("item", [["a", "long"]])] }),
    );
    expect(m.threads).toEqual([
      { entry: "main", where: "a.c:3", safePoints: [2], unsafePoints: [] },
      { entry: "worker", where: "a.c:9", safePoints: [], unsafePoints: [1] },
    ]);
  });
});
