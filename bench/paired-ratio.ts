/**
 * The estimate from paired measurements: the median of the per-pair ratios
 * (updateable / stock), with its distribution-free 95% confidence interval
 * (the sign test's: two order statistics of the ratios, chosen from the
 * binomial distribution). A pair's ratio cancels what the two runs of the
 * pair shared (the machine's speed at that moment); what is left is not
 * normal, since a window in which the scheduler favours one server now and
 * then gives a wild ratio, and the median and its interval are not moved by a
 * few of those.
 */
export interface RatioEstimate {
  ratio: number;
  /** The interval's bounds: NaN with fewer than 6 pairs, too few for 95%. */
  lo: number;
  hi: number;
  pairs: number;
}

/** P(X <= j) for X ~ Binomial(n, 1/2). */
function binomialCdf(n: number, j: number): number {
  let term = 0.5 ** n; // C(n, 0) / 2^n
  let sum = 0;
  for (let i = 0; i <= j; i++) {
    sum += term;
    term = (term * (n - i)) / (i + 1);
  }
  return sum;
}

export function pairedRatio(ratios: readonly number[]): RatioEstimate {
  const xs = ratios.filter((r) => Number.isFinite(r) && r > 0).sort((a, b) => a - b);
  const n = xs.length;
  if (n === 0) return { ratio: NaN, lo: NaN, hi: NaN, pairs: 0 };
  const m = Math.floor(n / 2);
  const ratio = n % 2 ? xs[m] : (xs[m - 1] + xs[m]) / 2;
  // The largest k with P(X < k) <= 2.5%: the median lies between the k-th smallest and the k-th largest at least 95% of the time.
  let k = 0;
  while (k + 1 <= m && binomialCdf(n, k) <= 0.025) k++;
  if (k === 0) return { ratio, lo: NaN, hi: NaN, pairs: n };
  return { ratio, lo: xs[k - 1], hi: xs[n - k], pairs: n };
}
