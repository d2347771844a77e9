import { describe, expect, it } from "vitest";
import { functionId, rangeTable, sectionAttribute } from "./function-sections.js";

describe("function sections", () => {
  it("ids are FNV-1a 64 of the uname (the published test vectors), 16 hex digits", () => {
    expect(functionId("")).toBe("cbf29ce484222325");
    expect(functionId("a")).toBe("af63dc4c8601ec8c");
    expect(functionId("foobar")).toBe("85944171f73967e8");
    expect(functionId("main__reader")).toMatch(/^[0-9a-f]{16}$/);
  });

  it("one section per function, one table entry per id in a unit", () => {
    expect(sectionAttribute("worker")).toBe(`__attribute__((section("graft_f_${functionId("worker")}"))) `);
    const t = rangeTable(["worker", "worker", "main"]);
    expect(t.match(/section\("graft_fntab"\)/g)).toHaveLength(2);
    expect(t).toContain(`0x${functionId("main")}ull, "main" }`);
    expect(rangeTable([])).toBe("");
  });
});
