import { describe, expect, it } from 'vitest';
import { deriveTargets } from './targets.ts';

const cycles = (n: number) => Array.from({ length: n }, (_, i) => (i + 1) * 1000);
const list = (a: Float64Array) => Array.from(a, (v) => (Number.isNaN(v) ? null : v));

describe('deriveTargets', () => {
  it('counts RUL in cycles down to 0 at the last reading before the failure, capped', () => {
    const r = deriveTargets(cycles(6), [6000], { task: 'regression', cap: 3, unit: { cycles: 1 } });
    expect(list(r.targets)).toEqual([3, 3, 3, 2, 1, 0]);
    expect(r.censoredDropped).toBe(0);
  });

  it('starts a new life after each failure', () => {
    const r = deriveTargets(cycles(6), [3000, 6000], { task: 'regression', cap: 10, unit: { cycles: 1 } });
    expect(list(r.targets)).toEqual([2, 1, 0, 2, 1, 0]);
  });

  it('counts a failure reported between readings from the last reading before it', () => {
    const r = deriveTargets(cycles(4), [2500], { task: 'regression', cap: 10, unit: { cycles: 1 } });
    // Readings after the only failure are censored: 1 reading of bound 1 and one of 0, below the cap.
    expect(list(r.targets)).toEqual([1, 0, null, null]);
    expect(r.censoredDropped).toBe(2);
  });

  it('censored RUL: keeps readings whose observed bound reaches the cap as the cap, drops the rest', () => {
    // Never failed: the bound is the readings seen after each one (5, 4, 3, 2, 1, 0).
    const r = deriveTargets(cycles(6), [], { task: 'regression', cap: 3, unit: { cycles: 1 } });
    expect(list(r.targets)).toEqual([3, 3, 3, null, null, null]);
    expect(r).toMatchObject({ censoredKept: 3, censoredDropped: 3 });
  });

  it('measures RUL in time when the unit is a duration', () => {
    const hour = 3_600_000;
    const ts = [0, hour, 3 * hour, 4 * hour];
    const r = deriveTargets(ts, [5 * hour], { task: 'regression', cap: 4.5, unit: { ms: hour } });
    expect(list(r.targets)).toEqual([4.5, 4, 2, 1]);
  });

  it('classification: failure within the horizon, censored only when the data end before it', () => {
    const spec = { task: 'classification', horizon: { cycles: 2 } } as const;
    expect(list(deriveTargets(cycles(5), [5000], spec).targets)).toEqual([0, 0, 1, 1, 1]);
    const censored = deriveTargets(cycles(5), [], spec);
    expect(list(censored.targets)).toEqual([0, 0, null, null, null]);
    expect(censored).toMatchObject({ censoredKept: 2, censoredDropped: 3 });
  });

  it('anomaly: normal operation is what lies more than the horizon before a failure', () => {
    const spec = { task: 'anomaly', horizon: { cycles: 1 } } as const;
    expect(list(deriveTargets(cycles(4), [4000], spec).targets)).toEqual([1, 1, null, null]);
    expect(list(deriveTargets(cycles(4), [], spec).targets)).toEqual([1, 1, null, null]);
  });
});
