/**
 * The estimate from paired measurements: the geometric mean of the per-pair
 * ratios (updateable / stock), with a 95% confidence interval from Student's
 * t on their logarithms. Ratios multiply, so their logarithms are what is
 * averaged; a pair's ratio cancels what the two runs of the pair shared (the
 * machine's speed at that moment).
 */
export interface RatioEstimate {
  ratio: number;
  lo: number;
  hi: number;
  pairs: number;
}

/** Two-sided 97.5% quantiles of Student's t, for 1..30 degrees of freedom; beyond, the normal 1.96 is within 2%. */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069,
  2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

export function pairedRatio(ratios: readonly number[]): RatioEstimate {
  const logs = ratios.filter((r) => Number.isFinite(r) && r > 0).map(Math.log);
  const n = logs.length;
  if (n === 0) return { ratio: NaN, lo: NaN, hi: NaN, pairs: 0 };
  const mean = logs.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { ratio: Math.exp(mean), lo: NaN, hi: NaN, pairs: 1 };
  const sd = Math.sqrt(logs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const half = (T975[n - 2] ?? 1.96) * (sd / Math.sqrt(n));
  return { ratio: Math.exp(mean), lo: Math.exp(mean - half), hi: Math.exp(mean + half), pairs: n };
}
