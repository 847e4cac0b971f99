import { describe, expect, it } from 'vitest';
import { healthScoreOf, scoreBinEdges, severityOf, severityWithMargin } from './severity.ts';

const prob = { warning: 0.5, critical: 0.8 };
const rul = { warning: 50, critical: 20, horizonCycles: 100 };
const err = { warning: 1, critical: 2, errorScale: 4 };

describe('severity', () => {
  it.each([
    ['classification', 0.1, prob, 'ok', 90],
    ['classification', 0.5, prob, 'warning', 50],
    ['classification', 0.8, prob, 'critical', 20],
    ['classification', 1.2, prob, 'critical', 0],
    ['regression', 150, rul, 'ok', 100],
    ['regression', 50, rul, 'warning', 50],
    ['regression', 20, rul, 'critical', 20],
    ['regression', -5, rul, 'critical', 0],
    ['anomaly', 0.5, err, 'ok', 87.5],
    ['anomaly', 1.5, err, 'warning', 62.5],
    ['anomaly', 9, err, 'critical', 0],
  ] as const)('%s score %d → %s, health %d', (task, score, t, severity, health) => {
    expect(severityOf(task, score, t)).toBe(severity);
    expect(healthScoreOf(task, score, t)).toBe(health);
  });

  it('uses default horizon (2 × warning) and error scale (critical)', () => {
    expect(healthScoreOf('regression', 50, { warning: 50, critical: 20 })).toBe(50);
    expect(healthScoreOf('anomaly', 1, { warning: 1, critical: 2 })).toBe(50);
  });

  it('applies the hysteresis margin towards worse', () => {
    expect(severityWithMargin('classification', 0.47, prob, 0.05)).toBe('warning');
    expect(severityWithMargin('regression', 53, rul, 5)).toBe('warning');
    expect(severityWithMargin('regression', 56, rul, 5)).toBe('ok');
  });

  it('bins scores per task', () => {
    expect(scoreBinEdges('classification', prob).at(-1)).toBe(1);
    expect(scoreBinEdges('regression', rul).at(-1)).toBe(200);
    expect(scoreBinEdges('anomaly', err)).toHaveLength(11);
  });
});
