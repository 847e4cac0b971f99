/**
 * How large each distance gets from sampling noise alone: the (1 − α) quantile of the statistic when
 * both sides are drawn from one distribution, for n (window) and m (reference) readings. The drift
 * detector passes effective sample sizes (effectiveSampleSize.ts), so autocorrelated windows get
 * wider critical values. Pure.
 */
import { binMidpoints } from './statistics.ts';

/** Family-wise false-alarm rate of one assessment, split over the watched features (Bonferroni). */
export const DRIFT_ALPHA = 0.05;

/** Kolmogorov distribution's survival function Q(λ) = 2 Σ (−1)^(k−1) exp(−2k²λ²). */
function kolmogorovSf(lambda: number): number {
  if (lambda <= 0) return 1;
  let sum = 0;
  for (let k = 1; k <= 100; k++) {
    const term = Math.exp(-2 * k * k * lambda * lambda);
    sum += (k % 2 === 1 ? 1 : -1) * term;
    if (term < 1e-16) break;
  }
  return Math.min(1, Math.max(0, 2 * sum));
}

/** c(α): the Kolmogorov distribution's (1 − α) quantile (scipy.stats.kstwobign.isf). */
export function kolmogorovIsf(alpha: number): number {
  return bisect((x) => kolmogorovSf(x) - alpha, 0.01, 10, true);
}

/** Two-sample KS critical distance c(α)·sqrt((n + m)/(n·m)). */
export function ksCritical(alpha: number, n: number, m: number): number {
  return kolmogorovIsf(alpha) * Math.sqrt(1 / n + 1 / m);
}

/** ln Γ(x), Lanczos (g = 7, 9 terms): ~15 significant digits for x > 0. */
function lnGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const z = x - 1;
  let a = c[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Regularised upper incomplete gamma Q(a, x): series below a + 1, continued fraction above. */
function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const lead = -x + a * Math.log(x) - lnGamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 1000 && Math.abs(term) > Math.abs(sum) * 1e-16; n++) {
      term *= x / (a + n);
      sum += term;
    }
    return 1 - sum * Math.exp(lead);
  }
  // Lentz's method for the continued fraction of Γ(a, x).
  let b = x + 1 - a;
  let c = 1e300;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (Math.abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(lead) * h;
}

/** χ²(df) (1 − α) quantile (scipy.stats.chi2.isf). */
export function chi2Isf(alpha: number, df: number): number {
  let hi = Math.max(1, df);
  while (gammaQ(df / 2, hi / 2) > alpha) hi *= 2;
  return bisect((x) => gammaQ(df / 2, x / 2) - alpha, 0, hi, true);
}

/**
 * PSI critical value: with proportions p̂ (n readings) and q̂ (m readings) of one distribution over
 * B bins, PSI ≈ Σ (p̂ − q̂)²/q ~ (1/n + 1/m)·χ²(B − 1) (Yurdakul 2018). `bins` counts the non-empty ones.
 */
export function psiCritical(alpha: number, bins: number, n: number, m: number): number {
  return chi2Isf(alpha, Math.max(1, bins - 1)) * (1 / n + 1 / m);
}

/** Deterministic uniforms (mulberry32), so a critical value is the same on every reconcile. */
function uniforms(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const WASSERSTEIN_DRAWS = 2000;

/**
 * Wasserstein-1 critical value for binned data: √(nm/(n+m))·W1 tends to Σ |B(F_i)|·Δx_i, B a Brownian
 * bridge at the reference's cumulative proportions F_i and Δx the spacing of binMidpoints; its
 * (1 − α) quantile is simulated (WASSERSTEIN_DRAWS seeded draws) and scaled by √(1/n + 1/m).
 */
export function wassersteinCritical(
  alpha: number,
  edges: readonly number[],
  reference: readonly number[],
  n: number,
  m: number,
): number {
  const key = `${alpha}|${edges.join(',')}|${reference.join(',')}`;
  let q = nullQuantiles.get(key);
  if (q === undefined) {
    q = simulatedQuantile(alpha, edges, reference);
    nullQuantiles.set(key, q);
    if (nullQuantiles.size > MAX_CACHED_QUANTILES) nullQuantiles.delete(nullQuantiles.keys().next().value!);
  }
  return q * Math.sqrt(1 / n + 1 / m);
}

/** The simulation depends on the reference only; one per (alpha, bins, reference) is remembered. */
const MAX_CACHED_QUANTILES = 1024;
const nullQuantiles = new Map<string, number>();

function simulatedQuantile(alpha: number, edges: readonly number[], reference: readonly number[]): number {
  const x = binMidpoints(edges);
  const total = reference.reduce((a, b) => a + b, 0);
  const next = uniforms(0x5eed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  const draws = new Float64Array(WASSERSTEIN_DRAWS);
  const w = new Float64Array(x.length - 1);
  for (let d = 0; d < WASSERSTEIN_DRAWS; d++) {
    // W at each cumulative proportion, then the bridge B(F) = W(F) − F·W(1).
    let walk = 0;
    let cum = 0;
    for (let i = 0; i < x.length - 1; i++) {
      const p = total > 0 ? reference[i]! / total : 0;
      walk += Math.sqrt(p) * gauss();
      w[i] = walk;
      cum += p;
    }
    const end = walk + Math.sqrt(Math.max(0, 1 - cum)) * gauss();
    let sum = 0;
    cum = 0;
    for (let i = 0; i < x.length - 1; i++) {
      cum += total > 0 ? reference[i]! / total : 0;
      sum += Math.abs(w[i]! - cum * end) * (x[i + 1]! - x[i]!);
    }
    draws[d] = sum;
  }
  draws.sort();
  return draws[Math.min(WASSERSTEIN_DRAWS - 1, Math.ceil((1 - alpha) * WASSERSTEIN_DRAWS) - 1)]!;
}

/** Root of a monotone f on [lo, hi]; `decreasing` says which way f goes. */
function bisect(f: (x: number) => number, lo: number, hi: number, decreasing: boolean): number {
  for (let i = 0; i < 200 && hi - lo > 1e-13 * Math.max(1, hi); i++) {
    const mid = (lo + hi) / 2;
    if (f(mid) > 0 === decreasing) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}
