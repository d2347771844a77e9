import { describe, expect, it } from "vitest";
import { functionId, linkerScript, rangeTable, sectionAttribute } from "./function-sections.js";

describe("function sections", () => {
  it("ids are FNV-1a 64 of the uname (the published test vectors), 16 hex digits", () => {
    expect(functionId("")).toBe("cbf29ce484222325");
    expect(functionId("a")).toBe("af63dc4c8601ec8c");
    expect(functionId("foobar")).toBe("85944171f73967e8");
    expect(functionId("main__reader")).toMatch(/^[0-9a-f]{16}$/);
  });

  it("one section per function, one table entry per id in a unit", () => {
    expect(sectionAttribute("worker")).toBe(`__attribute__((section("graft_f_${functionId("worker")}"))) `);
    const t = rangeTable(["worker", "worker", "main"], (u) => u === "main");
    // Read-only, offsets from the entry itself: no relocation at load.
    expect(t.match(/pushsection graft_fntab,\\"a\\",@progbits/g)).toHaveLength(2);
    expect(t).toContain(`.quad 0x${functionId("main")}`);
    expect(t).toContain(`.L__graft_fn_${functionId("main")}: .asciz \\"main\\"`);
    expect(t).not.toContain(`.asciz \\"worker\\"`);
    expect(rangeTable([])).toBe("");
    expect(linkerScript(["worker", "main"])).toMatch(/HIDDEN\(__graft_fb_[0-9a-f]{16} = \.\);\n {4}\*\(graft_f_[0-9a-f]{16}\)\n {4}HIDDEN\(__graft_fe_/);
  });
});
