import { describe, expect, it } from 'vitest';
import {
  agrees,
  MAX_UNPAIRED,
  PAIR_WINDOW_MS,
  ShadowComparison,
  type ComparedPrediction,
} from './shadowComparison.ts';

const p = (role: string, ts: number, severity: ComparedPrediction['severity'], score = 0.5, extra = {}) => ({
  machineId: 'm1',
  ts,
  role,
  severity,
  score,
  ...extra,
});

describe('agrees', () => {
  it.each([
    ['classification', undefined, 'warning', 'warning', 0.6, 0.7, true],
    ['classification', undefined, 'warning', 'critical', 0.6, 0.7, false],
    ['anomaly', undefined, 'warning', 'critical', 3, 9, true],
    ['anomaly', undefined, 'ok', 'critical', 1, 9, false],
    ['regression', 5, 'ok', 'critical', 100, 104, true],
    ['regression', 5, 'ok', 'ok', 100, 106, false],
    ['regression', undefined, 'ok', 'ok', 100, 160, true],
  ] as const)('%s tolerance %s: %s vs %s (%d, %d) → %s', (task, tol, a, b, sa, sb, want) => {
    expect(agrees(task, tol, { severity: a, score: sa }, { severity: b, score: sb })).toBe(want);
  });
});

describe('ShadowComparison', () => {
  it('pairs the two predictions of a reading whichever comes first, and counts agreement', () => {
    const c = new ShadowComparison('classification', undefined, () => 0);
    c.observe(p('stable', 1, 'ok'));
    c.observe(p('shadow', 1, 'ok'));
    c.observe(p('shadow', 2, 'critical'));
    c.observe(p('stable', 2, 'ok'));
    c.observe(p('stable', 3, 'ok'));
    expect(c.counts()).toEqual({ shadowCompared: 2, shadowAgreed: 1 });
    expect(c.unpaired).toBe(1);
  });

  it('compares neither warming nor fallback predictions, nor other roles', () => {
    const c = new ShadowComparison('classification', undefined, () => 0);
    c.observe(p('stable', 1, 'ok'));
    c.observe(p('shadow', 1, 'ok', 0.5, { warming: true }));
    c.observe(p('shadow', 2, 'ok', 0.5, { fallback: true }));
    c.observe(p('stable', 2, 'ok'));
    c.observe(p('canary', 1, 'ok'));
    expect(c.counts()).toEqual({ shadowCompared: 0, shadowAgreed: 0 });
  });

  it('a redelivered prediction of the same side is not counted twice', () => {
    const c = new ShadowComparison('classification', undefined, () => 0);
    c.observe(p('stable', 1, 'ok'));
    c.observe(p('stable', 1, 'ok'));
    c.observe(p('shadow', 1, 'ok'));
    c.observe(p('shadow', 1, 'ok'));
    expect(c.counts()).toEqual({ shadowCompared: 1, shadowAgreed: 1 });
  });

  it('forgets unpaired predictions after the pairing window and beyond the size bound', () => {
    let now = 0;
    const c = new ShadowComparison('classification', undefined, () => now);
    c.observe(p('stable', 1, 'ok'));
    now = PAIR_WINDOW_MS + 1;
    c.observe(p('stable', 2, 'ok'));
    expect(c.unpaired).toBe(1);
    c.observe(p('shadow', 1, 'ok'));
    expect(c.counts().shadowCompared).toBe(0);
    for (let ts = 10; ts < 10 + MAX_UNPAIRED + 5; ts++) c.observe(p('stable', ts, 'ok'));
    expect(c.unpaired).toBeLessThanOrEqual(MAX_UNPAIRED + 1);
  });
});
