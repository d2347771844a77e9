import { describe, expect, it } from "vitest";

import { parseProbe } from "./mcprobe-output.js";

describe("parseProbe", () => {
  it("reads the probe's line", () => {
    expect(parseProbe("ops=1200 errors=0 p50_us=88.5 p90_us=120 p99_us=301.25 max_us=2000\n")).toEqual({
      ops: 1200,
      errors: 0,
      p50Us: 88.5,
      p99Us: 301.25,
      maxUs: 2000,
    });
  });

  it("gives NaN for what a dead probe did not print", () => {
    const r = parseProbe("mcprobe: connect: Connection refused\n");
    expect(r.errors).toBeNaN();
    expect(r.p99Us).toBeNaN();
  });
});
