import { describe, expect, it } from 'vitest';
import { fitLinearRul, loadCmapss, syntheticCycles } from './cmapss.ts';

describe('demo RUL model', () => {
  it('fits synthetic degradation well enough to rank healthy above worn engines', () => {
    const cycles = syntheticCycles(10);
    const { coefficients, intercept } = fitLinearRul(cycles);
    const predict = (values: number[]) => values.reduce((s, v, j) => s + v * coefficients[j]!, intercept);
    const rmse = Math.sqrt(cycles.reduce((s, c) => s + (predict(c.values) - c.rul) ** 2, 0) / cycles.length);
    expect(rmse).toBeLessThan(30);
  });

  it.skipIf(loadCmapss() === undefined)(
    'fits C-MAPSS FD001 (when the dataset is present) to a sane RMSE',
    () => {
      const cycles = loadCmapss()!;
      const { coefficients, intercept } = fitLinearRul(cycles);
      const rmse = Math.sqrt(
        cycles.reduce(
          (s, c) => s + (c.values.reduce((a, v, j) => a + v * coefficients[j]!, intercept) - c.rul) ** 2,
          0,
        ) / cycles.length,
      );
      // A linear model on raw sensors: far from the literature's deep models, far better than the mean (~41).
      expect(rmse).toBeLessThan(30);
    },
  );
});
