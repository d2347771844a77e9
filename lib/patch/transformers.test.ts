import { describe, expect, it } from "vitest";
import { generateTransformerFile, readTransformerFile, type TransformerStep } from "./transformers.js";

const step: TransformerStep = {
  key: "conn", spelling: "struct conn", from: 0, to: 1,
  oldFields: [{ name: "fd", type: "int" }, { name: "hits", type: "unsigned int" }, { name: "buf", type: "char[16]" }, { name: "gone", type: "int" }],
  newFields: [{ name: "fd", type: "int" }, { name: "hits", type: "unsigned long long" }, { name: "buf", type: "char[32]" }, { name: "limit", type: "int" }, { name: "tag", type: "int" }],
  defaults: new Map([["limit", "64"]]),
};

describe("type transformers", () => {
  const text = generateTransformerFile("kvd", 0, [step]);

  it("copies same-named fields with conversions, defaults new ones and drops removed ones", () => {
    expect(text).toContain("void graft_xform_conn_0_1(const struct __graft_d_conn_v0 *old, struct __graft_d_conn_v1 *new)");
    expect(text).toContain("new->fd = old->fd;");
    expect(text).toContain("new->hits = old->hits; /* unsigned int -> unsigned long long: C conversion */");
    expect(text).toMatch(/new->buf\[i\] = old->buf\[i\]/);
    expect(text).toContain("new->limit = 64;");
    expect(text).toContain("new field tag (int): starts zeroed");
    expect(text).toContain("removed field gone (int): dropped");
  });

  it("reads back its own output", () => {
    const r = readTransformerFile(text, "xform.c", [step]);
    expect(r.diagnostics).toEqual([]);
    expect(r.sections).toHaveLength(1);
  });

  it("refuses directives and asm with their line, and a changed signature", () => {
    const edited = text.replace("new->fd = old->fd;", "new->fd = old->fd;\n#include \"/etc/passwd\"\n    __asm__(\"nop\");")
      .replace("struct __graft_d_conn_v1 *new)", "struct __graft_d_conn_v1 *n)");
    const lines = edited.split("\n");
    const r = readTransformerFile(edited, "xform.c", [step]);
    expect(r.diagnostics.map((d) => [d.code, d.line])).toEqual(expect.arrayContaining([
      [4102, lines.findIndex((l) => l.startsWith("#include")) + 1],
      [4103, lines.findIndex((l) => l.includes("__asm__")) + 1],
    ]));
    expect(r.diagnostics.some((d) => d.code === 4105)).toBe(true);
  });

  it("reports a missing transformer", () => {
    const r = readTransformerFile("/* nothing */\n", "xform.c", [step]);
    expect(r.diagnostics).toEqual([expect.objectContaining({ code: 4106 })]);
  });
});
