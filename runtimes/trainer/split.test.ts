import { describe, expect, it } from 'vitest';
import { classificationMetrics, phm08, regressionMetrics } from './metrics.ts';
import { holdoutMachines } from './train.ts';

describe('holdout machines', () => {
  it('depend on the seed and the machine set, not on the order machines appear in', () => {
    const ids = Array.from({ length: 100 }, (_, i) => `engine-${i}`);
    const a = holdoutMachines(ids, 0.2, 1);
    expect(a.size).toBe(20);
    expect(holdoutMachines([...ids].reverse(), 0.2, 1)).toEqual(a);
    expect(holdoutMachines(ids, 0.2, 2)).not.toEqual(a);
  });
});

describe('metrics', () => {
  it('PHM08 penalises late predictions more than early ones', () => {
    expect(phm08([10], [0])).toBeCloseTo(Math.E - 1);
    expect(phm08([0], [13])).toBeCloseTo(Math.E - 1);
  });

  it('scores RUL at each machine last row and F1 of the failure class', () => {
    const r = regressionMetrics([5, 3, 1], [4, 2, 0], ['a', 'a', 'b']);
    expect(r).toMatchObject({ rows: 3, rmse: 1, mae: 1, last: { machines: 2, rmse: 1 } });
    const c = classificationMetrics([0.9, 0.6, 0.2, 0.1], [1, 0, 1, 0]);
    expect(c).toMatchObject({ positives: 2, precision: 0.5, recall: 0.5, f1: 0.5 });
  });
});
