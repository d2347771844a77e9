import { describe, expect, it } from "vitest";
import { parseControlReply } from "./control-reply.js";
import { splitToolFlags } from "./tool-flags.js";

describe("splitToolFlags", () => {
  it("sends libraries and linker options to the link, -pthread to both, the rest to compiling", () => {
    expect(splitToolFlags(["-O2", "-g", "-I.", "-DNDEBUG", "-std=c11", "-lm", "-L.", "-Wl,-z,now", "-pthread", "libx.a", "liby.so", "libz.so.1.2", "-Wall"])).toEqual({
      cflags: ["-O2", "-g", "-I.", "-DNDEBUG", "-std=c11", "-pthread", "-Wall"],
      ldflags: ["-lm", "-L.", "-Wl,-z,now", "-pthread", "libx.a", "liby.so", "libz.so.1.2"],
    });
  });
  it("nothing after -- gives nothing", () => {
    expect(splitToolFlags([])).toEqual({ cflags: [], ldflags: [] });
  });
});

describe("parseControlReply", () => {
  it("reads the documented replies", () => {
    expect(parseControlReply("applied pause_us=12 point=loop sequence=4 version=ab")).toEqual({
      kind: "applied",
      fields: { pause_us: "12", point: "loop", sequence: "4", version: "ab" },
    });
    expect(parseControlReply("refused wrong-base the patch applies to 3f9a")).toEqual({ kind: "refused", code: "wrong-base", reason: "the patch applies to 3f9a" });
    expect(parseControlReply("ok program=kvd version=ab sequence=0 patches=0 pid=7").kind).toBe("ok");
  });
  it("anything else is unexpected", () => {
    for (const line of ["", "refused", "applied nonsense", "OK", "ok program"]) expect(parseControlReply(line).kind).toBe("unexpected");
  });
});
