/**
 * How many independent readings an autocorrelated window is worth. Sensor streams are autocorrelated,
 * so a window of n readings carries less information than n independent ones, and tests that assume
 * independence raise false alarms (a naive KS test at AR(1) ρ = 0.7: ~5% → ~35%). From the window's
 * per-telemetry-interval histograms:
 * - within intervals: a design effect in the manner of Rao and Scott, on the cumulative distribution
 *   KS and Wasserstein measure: the variance of the intervals' cumulative proportions at each edge
 *   over the binomial variance F(1 − F)/n_k, pooled over edges. 1 when intervals differ only
 *   binomially, larger when readings close in time move together. (The cell-wise version PSI's χ²
 *   would use is smaller: cell indicators correlate less than cumulative ones, so one conservative
 *   figure serves all three methods.)
 * - between intervals: r₁, the lag-1 autocorrelation of the interval means, as an AR(1) variance
 *   factor (1 + r₁)/(1 − r₁), r₁ clamped to [0, 0.9].
 * n_eff = n / (within · between). docs/drift.md explains the choice. Pure.
 */

export interface IntervalHistogram {
  counts: readonly number[];
  count: number;
  sum: number;
}

export interface DesignEffect {
  /** Variance inflation of the intervals' cumulative proportions over binomial (≥ 1). */
  within: number;
  /** Lag-1 autocorrelation of interval means, clamped to [0, MAX_LAG1]. */
  lag1: number;
  /** within · (1 + lag1)/(1 − lag1): n_eff = n / designEffect. */
  designEffect: number;
}

export const MAX_LAG1 = 0.9;

export const INDEPENDENT: DesignEffect = { within: 1, lag1: 0, designEffect: 1 };

/** The design effect of a window of intervals in time order; INDEPENDENT with fewer than 3 intervals. */
export function designEffect(intervals: readonly IntervalHistogram[]): DesignEffect {
  const used = intervals.filter((i) => i.count > 0);
  if (used.length < 3) return INDEPENDENT;
  const edges = used[0]!.counts.length - 1;
  const n = used.reduce((a, i) => a + i.count, 0);
  // Per edge: the observed variance of the intervals' cumulative proportions against the binomial
  // F(1 − F)/n_k; summed over edges, so edges where F is near 0 or 1 weigh little.
  let observed = 0;
  let expected = 0;
  for (let e = 0; e < edges; e++) {
    const cumulative = used.map((i) => i.counts.slice(0, e + 1).reduce((a, b) => a + b, 0));
    const f = cumulative.reduce((a, b) => a + b, 0) / n;
    if (f <= 0 || f >= 1) continue;
    let dispersion = 0;
    used.forEach((i, k) => (dispersion += i.count * (cumulative[k]! / i.count - f) ** 2));
    observed += dispersion / (used.length - 1);
    expected += f * (1 - f);
  }
  const within = expected > 0 ? Math.max(1, observed / expected) : 1;

  const means = used.map((i) => i.sum / i.count);
  const mean = means.reduce((a, b) => a + b, 0) / means.length;
  let num = 0;
  let den = 0;
  for (let k = 0; k < means.length; k++) {
    den += (means[k]! - mean) ** 2;
    if (k > 0) num += (means[k]! - mean) * (means[k - 1]! - mean);
  }
  const lag1 = den > 0 ? Math.min(MAX_LAG1, Math.max(0, num / den)) : 0;
  return { within, lag1, designEffect: (within * (1 + lag1)) / (1 - lag1) };
}
