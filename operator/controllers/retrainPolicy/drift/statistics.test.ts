import { describe, expect, it } from 'vitest';
import { binMidpoints, ksDistance, psi, wasserstein1 } from './statistics.ts';

// Reference values from scipy 1.17.1 (scripts/python-trainer), with each bin's mass at binMidpoints:
//   psi = sum(rel_entr(pa, pe) + rel_entr(pe, pa)), pa/pe = max(counts / total, 1e-4)
//   ks  = ks_2samp(np.repeat(mids, e), np.repeat(mids, a)).statistic
//   w1  = wasserstein_distance(mids, mids, e, a)
// "random samples": np.random.default_rng(7), N(0, 1) × 500 vs N(0.2, 1.3) × 300, binned.
const DECILES = [-1.2816, -0.8416, -0.5244, -0.2533, 0, 0.2533, 0.5244, 0.8416, 1.2816];
const CASES: [string, number[], number[], number[], number, number, number][] = [
  [
    'deciles of N(0, 1) vs N(0.5, 1)',
    DECILES,
    [100, 100, 100, 100, 100, 100, 100, 100, 100, 100],
    [37, 52, 63, 73, 83, 94, 107, 124, 149, 217],
    0.23909452201601994,
    0.1975975975975976,
    0.42997022022022025,
  ],
  [
    'random samples',
    [-2, -1, -0.5, 0, 0.5, 1, 2],
    [8, 86, 76, 115, 86, 70, 53, 6],
    [13, 36, 41, 48, 50, 45, 44, 23],
    0.20697869559680265,
    0.11533333333333333,
    0.32216666666666666,
  ],
  [
    'uniform vs skewed',
    [0, 1, 2, 3],
    [10, 20, 30, 20, 20],
    [5, 10, 30, 30, 25],
    0.1556757654605187,
    0.15,
    0.4,
  ],
  ['with empty bins', [0, 1, 2], [0, 50, 50, 0], [10, 40, 30, 20], 2.333984633917397, 0.2, 0.3],
];

describe('drift statistics against scipy', () => {
  it.each(CASES)('%s', (_name, edges, expected, actual, refPsi, refKs, refW1) => {
    expect(psi(expected, actual)).toBeCloseTo(refPsi, 12);
    expect(ksDistance(expected, actual)).toBeCloseTo(refKs, 12);
    expect(wasserstein1(edges, expected, actual)).toBeCloseTo(refW1, 12);
  });

  it('are 0 for proportional histograms and do not depend on the sample sizes', () => {
    const a = [3, 4, 3];
    const b = [30, 40, 30];
    expect(psi(a, b)).toBe(0);
    expect(ksDistance(a, b)).toBe(0);
    expect(wasserstein1([1, 2], a, b)).toBe(0);
  });

  it('wasserstein is in feature units: shifting every reading one bin of width 2 moves it by 2', () => {
    expect(wasserstein1([0, 2, 4, 6], [0, 10, 0, 0, 0], [0, 0, 10, 0, 0])).toBeCloseTo(2, 12);
    // The outer bins sit half their neighbour's width beyond the outer edges.
    expect(binMidpoints([0, 2, 3])).toEqual([-1, 1, 2.5, 3.5]);
  });

  it('refuses histograms of different shapes', () => {
    expect(() => psi([1, 2], [1, 2, 3])).toThrow(/2 and 3 bins/);
    expect(() => wasserstein1([0, 1], [1, 2], [1, 2])).toThrow(/2 edges need 3 counts/);
  });
});
