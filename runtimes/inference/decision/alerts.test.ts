import { describe, expect, it } from 'vitest';
import { AlertTracker, nextAlertSeverity } from './alerts.ts';
import { severityOf, severityWithMargin } from './severity.ts';

describe('alert state machine', () => {
  it.each([
    ['ok', 'warning', 'warning', 'warning'],
    ['ok', 'critical', 'critical', 'critical'],
    ['warning', 'critical', 'critical', 'critical'],
    ['critical', 'warning', 'critical', 'critical'], // inside the margin: stays
    ['critical', 'warning', 'warning', 'warning'],
    ['critical', 'ok', 'ok', 'ok'],
    ['warning', 'ok', 'warning', 'warning'],
    ['warning', 'warning', 'warning', 'warning'],
  ] as const)('%s with raw %s, relaxed %s → %s', (current, raw, relaxed, next) => {
    expect(nextAlertSeverity(current, raw, relaxed)).toBe(next);
  });

  it('emits transitions only, with hysteresis against flapping', () => {
    const t = { warning: 0.5, critical: 0.8 };
    const tracker = new AlertTracker();
    const scores = [0.1, 0.52, 0.49, 0.51, 0.48, 0.44, 0.85, 0.79, 0.7, 0.1];
    const transitions = scores
      .map((s, i) =>
        tracker.observe(
          'm',
          i,
          severityOf('classification', s, t),
          severityWithMargin('classification', s, t, 0.05),
        ),
      )
      .filter((x) => x !== undefined)
      .map((x) => `${x.from}->${x.to}@${x.ts}`);
    expect(transitions).toEqual([
      'ok->warning@1',
      'warning->ok@5',
      'ok->critical@6',
      'critical->warning@8',
      'warning->ok@9',
    ]);
    expect(tracker.current('m')).toBe('ok');
  });

  it('tracks machines independently and forgets them', () => {
    const tracker = new AlertTracker();
    expect(tracker.observe('a', 0, 'critical', 'critical')?.to).toBe('critical');
    expect(tracker.observe('b', 0, 'ok', 'ok')).toBeUndefined();
    expect(tracker.observe('a', 1, 'critical', 'critical')).toBeUndefined();
    tracker.forget('a');
    expect(tracker.current('a')).toBe('ok');
  });
});

describe('restored alert state', () => {
  it('continues from a restored critical: no new firing, hysteresis kept, resolution emitted', () => {
    const tracker = new AlertTracker();
    tracker.restore('m', { severity: 'critical', since: 100 });
    // Still critical, and a warning score inside the margin keeps it critical.
    expect(tracker.observe('m', 200, 'critical', 'critical')).toBeUndefined();
    expect(tracker.observe('m', 201, 'warning', 'critical')).toBeUndefined();
    expect(tracker.observe('m', 202, 'ok', 'ok')).toEqual({
      machineId: 'm',
      from: 'critical',
      to: 'ok',
      ts: 202,
      previousSince: 100,
    });
    expect(tracker.active('m')).toBeUndefined();
  });

  it('a restore of ok clears the state; since is the transition reading time', () => {
    const tracker = new AlertTracker();
    tracker.observe('m', 5, 'warning', 'warning');
    expect(tracker.active('m')).toEqual({ severity: 'warning', since: 5 });
    expect(tracker.observe('m', 9, 'critical', 'critical')).toMatchObject({
      previousSince: 5,
      to: 'critical',
    });
    tracker.restore('m', undefined);
    expect(tracker.current('m')).toBe('ok');
  });
});
