// Window aggregations from sufficient statistics. Windows keep sums of y = x - K (shifted by a
// reference K close to the data, refreshed every time the ring wraps) so moments of large-offset
// signals (e.g. 640 ± 0.5) do not cancel catastrophically.

/** Sufficient statistics of one window: n samples y_t = x_t - k at positions t = 0 (oldest) .. n-1. */
export interface WindowMoments {
  n: number;
  k: number;
  s1: number; // Σ y
  s2: number; // Σ y²
  s3: number; // Σ y³
  s4: number; // Σ y⁴
  st: number; // Σ t·y
}

export function windowMean(m: WindowMoments): number {
  return m.n === 0 ? 0 : m.k + m.s1 / m.n;
}

/** Population variance (ddof = 0), the same convention as the kurtosis below. */
export function windowVariance(m: WindowMoments): number {
  if (m.n === 0) return 0;
  const mean = m.s1 / m.n;
  return Math.max(0, m.s2 / m.n - mean * mean);
}

export function windowStd(m: WindowMoments): number {
  return Math.sqrt(windowVariance(m));
}

/** Root mean square of the raw values x = y + k. */
export function windowRms(m: WindowMoments): number {
  if (m.n === 0) return 0;
  const sumSquares = m.s2 + 2 * m.k * m.s1 + m.n * m.k * m.k;
  return Math.sqrt(Math.max(0, sumSquares / m.n));
}

/** Excess kurtosis m4 / m2² − 3 (0 for fewer than 2 samples or a constant window). */
export function windowKurtosis(m: WindowMoments): number {
  if (m.n < 2) return 0;
  const n = m.n;
  const mu = m.s1 / n;
  const e2 = m.s2 / n;
  const m2 = e2 - mu * mu;
  // Relative floor: below it the window is constant up to rounding and m4/m2² is noise.
  if (m2 <= 1e-12 * (e2 + 1e-300)) return 0;
  const m4 = m.s4 / n - 4 * mu * (m.s3 / n) + 6 * mu * mu * e2 - 3 * mu ** 4;
  return Math.max(-3, m4 / (m2 * m2) - 3);
}

/** Least-squares slope of x against the sample index (units per sample). */
export function windowSlope(m: WindowMoments): number {
  const n = m.n;
  if (n < 2) return 0;
  const sumT = (n * (n - 1)) / 2;
  const sumT2 = ((n - 1) * n * (2 * n - 1)) / 6;
  return (n * m.st - sumT * m.s1) / (n * sumT2 - sumT * sumT);
}
