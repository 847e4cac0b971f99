import { describe, expect, it } from 'vitest';
import { decideFromRules, decideFromScore, emptyDecision } from './readingDecision.ts';

const classifier = { warning: 0.5, critical: 0.8 };
const rul = { warning: 50, critical: 20, horizonCycles: 100 };
const anomaly = { warning: 0.2, critical: 0.4, errorScale: 0.5 };

describe('decideFromScore', () => {
  it.each([
    // task, thresholds, hysteresis, score → severity, relaxed, health, rul
    ['classification', classifier, 0.05, 0.1, 'ok', 'ok', 90, undefined],
    ['classification', classifier, 0.05, 0.47, 'ok', 'warning', 53, undefined],
    ['classification', classifier, 0.05, 0.5, 'warning', 'warning', 50, undefined],
    ['classification', classifier, 0.05, 0.9, 'critical', 'critical', 10, undefined],
    ['regression', rul, 5, 80, 'ok', 'ok', 80, 80],
    ['regression', rul, 5, 52, 'ok', 'warning', 52, 52],
    ['regression', rul, 5, 15, 'critical', 'critical', 15, 15],
    ['anomaly', anomaly, 0.01, 0.05, 'ok', 'ok', 90, undefined],
    ['anomaly', anomaly, 0.01, 0.395, 'warning', 'critical', 21, undefined],
  ] as const)(
    '%s %o margin %d: score %d → %s (relaxed %s), health %d, rul %s',
    (task, thresholds, hysteresis, score, severity, relaxed, healthScore, rulCycles) => {
      expect(decideFromScore(task, thresholds, hysteresis, score, emptyDecision())).toEqual({
        score,
        severity,
        relaxed,
        healthScore,
        rulCycles,
        fallback: false,
        ruleContributions: undefined,
      });
    },
  );
});

describe('decideFromRules', () => {
  it('takes the rules outcome as it is: no margin, no RUL, the rules contributions', () => {
    const contributions = { temp: 1 };
    expect(
      decideFromRules({ severity: 'critical', score: 1, healthScore: 0, contributions }, emptyDecision()),
    ).toEqual({
      score: 1,
      severity: 'critical',
      relaxed: 'critical',
      healthScore: 0,
      rulCycles: undefined,
      fallback: true,
      ruleContributions: contributions,
    });
  });

  it('reuses one object: a model decision after a fallback one carries nothing of it', () => {
    const d = emptyDecision();
    decideFromRules({ severity: 'warning', score: 0.5, healthScore: 50, contributions: { temp: 1 } }, d);
    decideFromScore('regression', rul, 5, 30, d);
    expect(d).toMatchObject({
      fallback: false,
      ruleContributions: undefined,
      rulCycles: 30,
      severity: 'warning',
    });
  });
});
