import { describe, expect, it } from "vitest";

import { enumConstants, enumConversion } from "./enum-map.js";

describe("enum values carried by name", () => {
  it("reads the constants of a canonical enum key", () => {
    expect(enumConstants("enum state{IDLE=0,BUSY=1}")).toEqual(new Map([["IDLE", "0"], ["BUSY", "1"]]));
    expect(enumConstants("const enum{A=-1,B=4}")).toEqual(new Map([["A", "-1"], ["B", "4"]]));
    expect(enumConstants("struct job")).toBeUndefined();
    expect(enumConstants("enum state{IDLE=0}*")).toBeUndefined();
  });

  it("maps each old number to the new number of the same name, and keeps dropped ones", () => {
    const c = enumConversion("enum state{IDLE=0,BUSY=1,DONE=2}", "enum state{IDLE=0,WAITING=1,BUSY=2}", "old->st");
    expect(c?.expr).toBe("({ long long __graft_e = (long long)(old->st); __graft_e == 1 ? 2 : __graft_e; })");
    expect(c?.dropped).toEqual(["DONE"]);
  });

  it("says nothing when no number changes or the keys are not enums", () => {
    expect(enumConversion("enum s{A=0,B=1}", "enum s{A=0,B=1,C=2}", "x")).toBeUndefined();
    expect(enumConversion("int", "long", "x")).toBeUndefined();
    expect(enumConversion(undefined, "enum s{A=1}", "x")).toBeUndefined();
  });
});
