import { describe, expect, it } from 'vitest';
import { ksDistance, psi, wasserstein1 } from './statistics.ts';
import { chi2Isf, kolmogorovIsf, ksCritical, psiCritical, wassersteinCritical } from './significance.ts';

// scipy 1.17.1: kstwobign.isf(alpha) and chi2.isf(alpha, df).
describe('null quantiles against scipy', () => {
  it.each([
    [0.05, 1.3580986393225507],
    [0.01, 1.6276236115189504],
    [0.001, 1.9494746035043753],
    [0.0025, 1.8281974354148407],
  ])('kolmogorovIsf(%f)', (alpha, ref) => {
    expect(kolmogorovIsf(alpha)).toBeCloseTo(ref, 9);
  });

  it.each([
    [1, 0.05, 3.8414588206941285],
    [1, 0.0025, 9.140593461243983],
    [2, 0.05, 5.991464547107983],
    [9, 0.05, 16.91897760462045],
    [9, 0.0025, 25.462478697854348],
    [10, 0.0025, 27.11217103351062],
    [50, 0.05, 67.5048065495412],
    [50, 0.0025, 82.66404518346663],
  ])('chi2Isf(df %i, alpha %f)', (df, alpha, ref) => {
    expect(chi2Isf(alpha, df)).toBeCloseTo(ref, 8);
  });
});

/** Seeded multinomial draws of n readings over the proportions p (inverse CDF per reading). */
function sampler(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  return (p: number[], n: number) => {
    const counts = p.map(() => 0);
    const cdf = p.map(
      (
        (sum) => (v) =>
          (sum += v)
      )(0),
    );
    for (let i = 0; i < n; i++) {
      const u = next();
      counts[
        Math.min(
          p.length - 1,
          cdf.findIndex((c) => u < c),
        )
      ]!++;
    }
    return counts;
  };
}

describe('critical values keep the false-alarm rate at alpha for independent readings', () => {
  const edges = [-1.28, -0.84, -0.52, -0.25, 0, 0.25, 0.52, 0.84, 1.28];
  const p = [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1];
  const draw = sampler(11);
  const n = 500;
  const m = 5000;
  const trials = 400;
  const alpha = 0.05;

  it.each(['ks', 'psi', 'wasserstein'] as const)('%s', (method) => {
    let alarms = 0;
    for (let t = 0; t < trials; t++) {
      const ref = draw(p, m);
      const win = draw(p, n);
      const [score, critical] =
        method === 'ks'
          ? [ksDistance(ref, win), ksCritical(alpha, n, m)]
          : method === 'psi'
            ? [psi(ref, win), psiCritical(alpha, p.length, n, m)]
            : [wasserstein1(edges, ref, win), wassersteinCritical(alpha, edges, ref, n, m)];
      if (score > critical) alarms++;
    }
    // Binned KS is conservative (the continuous c(α)); all stay near or below alpha (binomial sd ~1.1%).
    expect(alarms / trials).toBeLessThan(alpha + 0.035);
    if (method !== 'ks') expect(alarms / trials).toBeGreaterThan(alpha - 0.035);
  });
});
