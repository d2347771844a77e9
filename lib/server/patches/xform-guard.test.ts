import { describe, expect, it } from "vitest";
import { checkTransformerSafety } from "./xform-guard";

const generated = `/* header: No #include or other directives, no asm. */
void graft_xform_item_0_1(const struct a *old, struct b *new)
{
    new->x = old->x;
}
`;

const messages = (src: string, gen = generated) => checkTransformerSafety(src, gen).map((p) => `${p.line}:${p.message}`);

describe("checkTransformerSafety", () => {
  it("accepts the generated code and ordinary edits", () => {
    expect(messages(generated)).toEqual([]);
    expect(messages(generated.replace("old->x;", "old->x * 2; /* # in a comment */ const char *s = \"#include <x>\"; char c = '#';"))).toEqual([]);
  });

  it("refuses #include and says why", () => {
    expect(messages(`#include "/etc/passwd"\n` + generated)).toEqual(["1:#include is not allowed in transformer code (it could pull server files into the build)"]);
    expect(messages(`  #  include <stdio.h>\n` + generated)[0]).toMatch(/^1:#include is not allowed/);
  });

  it("refuses other directives, digraphs, trigraphs and splices that hide a directive", () => {
    expect(messages(`#define X 1\n` + generated)).toEqual(["1:preprocessor directive #define is not allowed in transformer code"]);
    expect(messages(`%:include "/etc/shadow"\n` + generated)[0]).toMatch(/#include is not allowed/);
    expect(messages(`??=include "/etc/shadow"\n` + generated).some((m) => m.includes("trigraph"))).toBe(true);
    expect(messages(`#\\\ninclude "/etc/shadow"\n` + generated)[0]).toMatch(/^1:/);
    expect(messages(`#pragma GCC dependency "/etc/shadow"\n` + generated)[0]).toMatch(/#pragma/);
  });

  it("refuses asm, _Pragma and __has_include in code", () => {
    expect(messages(generated.replace("new->x = old->x;", `__asm__(".incbin \\"/etc/shadow\\"");`))).toEqual(['4:"__asm__" is not allowed in transformer code']);
    expect(messages(generated.replace("new->x = old->x;", `asm("nop");`))).toEqual(['4:"asm" is not allowed in transformer code']);
    expect(messages(generated.replace("new->x = old->x;", `_Pragma("GCC dependency \\"/etc/shadow\\"")`))).toEqual(['4:"_Pragma" is not allowed in transformer code']);
  });

  it("does not let a string or comment splice hide code, and keeps the generator's own directive lines", () => {
    // A line comment continued by a backslash swallows the next line, as in the compiler.
    expect(messages(generated + "// note \\\n#include <x>\n")).toEqual([]);
    const withDirective = `#line 1 "xform.c"\n` + generated;
    expect(messages(withDirective, withDirective)).toEqual([]);
    expect(messages(`#line 1 "/etc/passwd"\n` + generated, withDirective)[0]).toMatch(/#line/);
  });
});
