import { describe, expect, it } from 'vitest';
import { designEffect, INDEPENDENT, MAX_LAG1, type IntervalHistogram } from './effectiveSampleSize.ts';

const EDGES = [-1.28, -0.84, -0.52, -0.25, 0, 0.25, 0.52, 0.84, 1.28];

function gaussians(seed: number) {
  let s = seed >>> 0;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 1) / (2 ** 32 + 1);
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

/** An AR(1) stream of unit variance cut into intervals of `size` readings, each binned over EDGES. */
function ar1Intervals(rho: number, intervals: number, size: number, seed: number): IntervalHistogram[] {
  const g = gaussians(seed);
  let x = g();
  const out: IntervalHistogram[] = [];
  for (let k = 0; k < intervals; k++) {
    const counts = new Array<number>(EDGES.length + 1).fill(0);
    let sum = 0;
    for (let i = 0; i < size; i++) {
      x = rho * x + Math.sqrt(1 - rho * rho) * g();
      counts[EDGES.findIndex((e) => x < e) === -1 ? EDGES.length : EDGES.findIndex((e) => x < e)]!++;
      sum += x;
    }
    out.push({ counts, count: size, sum });
  }
  return out;
}

describe('designEffect', () => {
  it('is about 1 for independent readings', () => {
    const d = designEffect(ar1Intervals(0, 200, 20, 1));
    expect(d.within).toBeLessThan(1.15);
    expect(d.designEffect).toBeLessThan(1.4);
  });

  it('grows with autocorrelation, towards the AR(1) mean variance factor (1 + ρ)/(1 − ρ)', () => {
    // Per-reading ρ = 0.7: the factor for means is 5.67; for indicators below an edge (what the
    // cumulative distribution counts) it is 1 + 2·Σ (2/π)·arcsin(ρ^k) ≈ 4 at the median, less further out.
    const d = designEffect(ar1Intervals(0.7, 300, 20, 2));
    expect(d.designEffect).toBeGreaterThan(3.5);
    expect(d.designEffect).toBeLessThan(5.67);
    const weaker = designEffect(ar1Intervals(0.3, 200, 20, 2));
    expect(weaker.designEffect).toBeLessThan(d.designEffect);
  });

  it('sees autocorrelation between intervals through the lag-1 correlation of their means', () => {
    // One reading per interval: nothing within, everything between.
    const d = designEffect(ar1Intervals(0.7, 400, 1, 3));
    expect(d.lag1).toBeGreaterThan(0.6);
    expect(d.lag1).toBeLessThan(0.8);
  });

  it('is INDEPENDENT with too few intervals, skips empty ones and clamps lag1', () => {
    expect(designEffect(ar1Intervals(0.7, 2, 20, 4))).toEqual(INDEPENDENT);
    const trend: IntervalHistogram[] = Array.from({ length: 50 }, (_, k) => ({
      counts: [k, 50 - k],
      count: 50,
      sum: 50 * k,
    }));
    const empty = { counts: [0, 0], count: 0, sum: 0 };
    const d = designEffect([empty, ...trend, empty]);
    expect(d.lag1).toBe(MAX_LAG1);
    expect(d.designEffect).toBeCloseTo((d.within * (1 + MAX_LAG1)) / (1 - MAX_LAG1), 9);
  });
});
