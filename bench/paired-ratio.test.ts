import { describe, expect, it } from "vitest";

import { pairedRatio } from "./paired-ratio.js";

describe("pairedRatio", () => {
  it("is the median of the ratios: one wild window does not move it", () => {
    expect(pairedRatio([1.01, 0.99, 1.0, 1.02, 0.98, 1.65]).ratio).toBeCloseTo(1.005, 12);
  });

  it("gives the sign test's interval: order statistics chosen from Binomial(n, 1/2)", () => {
    const xs = Array.from({ length: 20 }, (_, i) => 0.9 + i * 0.01); // 0.90 .. 1.09
    // n = 20: P(X <= 5) = 0.0207 <= 2.5% < P(X <= 6) = 0.0577, so k = 6: the 6th smallest and the 6th largest.
    const r = pairedRatio([...xs].reverse());
    expect(r.lo).toBeCloseTo(0.95, 12);
    expect(r.hi).toBeCloseTo(1.04, 12);
    expect(r.pairs).toBe(20);
  });

  it("needs 6 pairs for a 95% interval", () => {
    // n = 6: P(X <= 0) = 1/64 <= 2.5%, so the interval is the whole range; n = 5: 1/32 > 2.5%, none.
    expect(pairedRatio([1, 2, 3, 4, 5, 6])).toMatchObject({ lo: 1, hi: 6 });
    expect(pairedRatio([1, 2, 3, 4, 5])).toMatchObject({ ratio: 3, lo: NaN, hi: NaN });
  });

  it("narrows as pairs are added", () => {
    const spread = (n: number) => Array.from({ length: n }, (_, i) => 0.9 + (0.2 * i) / (n - 1));
    const few = pairedRatio(spread(8));
    const many = pairedRatio(spread(60));
    expect(many.hi - many.lo).toBeLessThan((few.hi - few.lo) / 2);
  });

  it("ignores failed windows", () => {
    expect(pairedRatio([NaN, 0, Infinity, 1.1])).toEqual({ ratio: 1.1, lo: NaN, hi: NaN, pairs: 1 });
    expect(pairedRatio([]).pairs).toBe(0);
  });
});
