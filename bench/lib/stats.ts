// The benchmark's statistics: quantiles and spreads of samples, and rounding for the report.
export interface Spread {
  p10: number;
  p50: number;
  p90: number;
  p99: number;
  n: number;
}

const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
export const quantile = (xs: number[], q: number): number => {
  const s = sorted(xs);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
};
export const median = (xs: number[]): number => quantile(xs, 0.5);
export const spread = (xs: number[]): Spread => ({ p10: quantile(xs, 0.1), p50: median(xs), p90: quantile(xs, 0.9), p99: quantile(xs, 0.99), n: xs.length });
export const round = (x: number, digits = 3): number => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);

export function mapSpread(s: Spread): Spread {
  return { p10: round(s.p10), p50: round(s.p50), p90: round(s.p90), p99: round(s.p99), n: s.n };
}
