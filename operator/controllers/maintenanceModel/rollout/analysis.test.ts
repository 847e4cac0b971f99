import { describe, expect, it } from 'vitest';
import {
  EMPTY_MEASUREMENT,
  histogramQuantile,
  judgeInterval,
  ksDistance,
  mergeHistograms,
} from './analysis.ts';

const spec = { interval: '10s', minSamples: 100, maxErrorRate: 0.01, failureLimit: 3 };
const hist = (counts: number[], edges = [1, 2, 3]) => ({
  edges,
  counts,
  count: counts.reduce((a, b) => a + b, 0),
  sum: 0,
});
const m = (over: Partial<typeof EMPTY_MEASUREMENT>) => ({
  ...EMPTY_MEASUREMENT,
  messages: 1000,
  predictions: 1000,
  ...over,
});

describe('rollout analysis', () => {
  it('takes the p99 bucket upper edge, and the last edge for the overflow bucket', () => {
    expect(histogramQuantile(hist([98, 1, 1, 0]), 0.99)).toBe(2);
    expect(histogramQuantile(hist([0, 0, 0, 10]), 0.99)).toBe(3);
    expect(histogramQuantile(hist([0, 0, 0, 0]), 0.99)).toBeUndefined();
  });

  it('computes the Kolmogorov-Smirnov distance between histograms of the same edges', () => {
    expect(ksDistance(hist([10, 0, 0, 0]), hist([10, 0, 0, 0]))).toBe(0);
    expect(ksDistance(hist([10, 0, 0, 0]), hist([0, 0, 0, 10]))).toBe(1);
    expect(ksDistance(hist([5, 5, 0, 0]), hist([0, 5, 5, 0]))).toBe(0.5);
    expect(ksDistance(hist([5, 5, 0, 0]), hist([1, 1, 1], [1, 2]))).toBeUndefined();
  });

  it('merges only histograms of the same edges', () => {
    expect(mergeHistograms(hist([1, 2, 3, 4]), hist([1, 1, 1, 1]))?.counts).toEqual([2, 3, 4, 5]);
    expect(mergeHistograms(hist([1, 2, 3, 4]), hist([1, 1, 1], [1, 2]))).toBeUndefined();
  });

  it.each([
    ['too few samples', m({ predictions: 99 }), m({}), {}, 'Inconclusive', /fewer than minSamples 100/],
    ['healthy', m({}), m({}), {}, 'Passed', undefined],
    [
      'errors (NaN outputs scored by rules)',
      m({ fallback: 20 }),
      m({}),
      {},
      'Failed',
      /errorRate 0.02 > maxErrorRate 0.01/,
    ],
    [
      'dead letters above the stable',
      m({ deadLetters: 50 }),
      m({ deadLetters: 10 }),
      {},
      'Failed',
      /deadLetterRate 0.05 > stable's 0.01/,
    ],
    ['dead letters like the stable', m({ deadLetters: 15 }), m({ deadLetters: 10 }), {}, 'Passed', undefined],
    [
      'slow',
      m({ latencyMs: hist([0, 0, 10, 990], [5, 10, 20]) }),
      m({}),
      { maxP99LatencyMs: 15 },
      'Failed',
      /p99LatencyMs 20 > maxP99LatencyMs 15/,
    ],
    [
      'shifted scores',
      m({ scores: hist([0, 0, 0, 1000]) }),
      m({ scores: hist([1000, 0, 0, 0]) }),
      { maxScoreDivergence: 0.2 },
      'Failed',
      /scoreDivergence 1 > maxScoreDivergence 0.2/,
    ],
    [
      'no stable scores to compare',
      m({ scores: hist([0, 0, 0, 1000]) }),
      m({ predictions: 0, messages: 0 }),
      { maxScoreDivergence: 0.2 },
      'Inconclusive',
      /stable scored nothing/,
    ],
  ] as const)('%s', (_name, candidate, stable, limits, verdict, message) => {
    const r = judgeInterval({ ...spec, ...limits }, candidate, stable);
    expect(r.verdict).toBe(verdict);
    if (message) expect(r.message).toMatch(message);
    else expect(r.message).toBeUndefined();
  });
});
