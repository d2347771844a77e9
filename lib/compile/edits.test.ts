import { describe, expect, it } from "vitest";
import { EditList, Order } from "./edits.js";

const list = (s: string) => new EditList(Buffer.from(s));

describe("EditList", () => {
  it("opens outer nodes first and closes inner nodes first at one offset", () => {
    const e = list("a.b.c");
    // con(&(con(&(a)).b)).c : two nested wraps starting at 0
    e.insert(0, "O(", Order.prefix(0));
    e.insert(0, "I(", Order.prefix(1));
    e.insert(1, ")", Order.suffix(1));
    e.insert(3, ")", Order.suffix(0));
    expect(e.render()).toBe("O(I(a).b).c");
  });

  it("lets a replacement swallow the edits inside it, but not those at its ends", () => {
    const e = list("static int x = 1;");
    e.replace(0, 6, "");
    e.replace(11, 12, "y");
    e.replace(0, 17, "extern int y;");
    e.insert(0, "/*a*/", Order.prefix(0));
    e.insert(17, "/*b*/", Order.after);
    expect(e.render()).toBe("/*a*/extern int y;/*b*/");
  });

  it("renders a sub-range with its own edits and without replacements of the range itself", () => {
    const e = list("S{ int x; };");
    e.replace(1, 11, "{ wrapper }");
    e.replace(7, 8, "y");
    expect(e.render(1, 11)).toBe("{ int y; }");
    expect(e.render()).toBe("S{ wrapper };");
  });

  it("ignores a second replacement of exactly the same bytes (a shared `static`)", () => {
    const e = list("static int a, b;");
    e.replace(0, 6, "");
    e.replace(0, 6, "");
    expect(e.render()).toBe(" int a, b;");
  });
});
