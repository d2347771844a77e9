import { describe, expect, it } from "vitest";
import { LineMap } from "./line-map.js";

describe("LineMap", () => {
  it("maps offsets of a preprocessed file back to file, line and system-ness", () => {
    const text = Buffer.from(['# 1 "a.c"', "int x;", '# 1 "/usr/include/stdio.h" 1 3 4', "int printf();", '# 3 "a.c" 2', "", "int y;", ""].join("\n"));
    const m = new LineMap(text);
    expect(m.position(text.indexOf("int x"))).toEqual({ file: "a.c", line: 1, system: false });
    expect(m.position(text.indexOf("int printf"))).toEqual({ file: "/usr/include/stdio.h", line: 1, system: true });
    expect(m.position(text.indexOf("int y"))).toEqual({ file: "a.c", line: 4, system: false });
  });
});
