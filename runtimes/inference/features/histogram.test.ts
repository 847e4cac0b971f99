import { describe, expect, it } from 'vitest';
import { Histogram } from './histogram.ts';

describe('histogram', () => {
  it.each([
    [-1, 0],
    [0, 1],
    [0.5, 1],
    [1, 2],
    [2, 3],
    [99, 3],
  ])('puts %d in bucket %d', (value, bucket) => {
    const h = new Histogram([0, 1, 2]);
    h.observe(value);
    expect(h.snapshot().counts[bucket]).toBe(1);
  });

  it('ignores NaN and keeps count and sum', () => {
    const h = new Histogram([0, 1]);
    [0.5, NaN, 3].forEach((v) => h.observe(v));
    expect(h.snapshot()).toEqual({ edges: [0, 1], counts: [0, 1, 1], count: 2, sum: 3.5 });
  });
});
