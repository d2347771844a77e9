import { describe, expect, it } from "vitest";

import { elfShapeProblem } from "./elf-shape.js";
import { minimalSharedObject } from "./test-fixtures.js";

describe("elfShapeProblem (the runtime's elf_check.c, offline)", () => {
  it("takes a whole shared object", () => {
    expect(elfShapeProblem(minimalSharedObject(200))).toBeUndefined();
  });
  it("refuses what the runtime would map past its end, or is no shared object", () => {
    const so = minimalSharedObject(200);
    expect(elfShapeProblem(so.subarray(0, 150))).toBe("patch.so is truncated: segment 0 ends at byte 200, the file has 150");
    expect(elfShapeProblem(so.subarray(0, 100))).toBe("patch.so is truncated: its program headers end past its 100 bytes");
    expect(elfShapeProblem(Buffer.from("not an ELF file\n"))).toBe("patch.so is not an ELF file (16 bytes)");
    const exec = Buffer.from(so);
    exec.writeUInt16LE(2, 16);
    expect(elfShapeProblem(exec)).toBe("patch.so is not a shared object (ELF type 2)");
  });
});
