import { describe, expect, it } from 'vitest';
import type { RetrainPolicy } from '../../api/retrainPolicy.ts';
import { policyFixture } from '../testdata/retrainPolicy.ts';
import type { DriftAssessment, FeatureDrift } from './drift/assessment.ts';
import { decideTrigger, nextSchedule, RETRAIN_ANNOTATION, scheduleDue, scheduleError } from './triggers.ts';

const NOW = new Date('2026-12-03T10:00:00Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();
const H = 3_600_000;

const vibration: FeatureDrift = {
  name: 'vibration',
  method: 'psi',
  score: 0.31234,
  threshold: 0.2,
  samples: 1200,
  drifting: true,
  since: '2026-12-03T09:40:00Z',
};
const temperature: FeatureDrift = { ...vibration, name: 'temperature', score: 0.05, drifting: false };

function drift(over: Partial<DriftAssessment> = {}): DriftAssessment {
  return {
    time: NOW.toISOString(),
    version: 'v1',
    judged: true,
    drifting: true,
    features: [vibration, temperature],
    ...over,
  };
}

function policy(
  opts: { last?: string; annotate?: boolean; schedule?: string; drift?: boolean; created?: string } = {},
): RetrainPolicy {
  return policyFixture((p) => {
    if (opts.created) p.metadata.creationTimestamp = opts.created as unknown as Date;
    if (opts.annotate) p.metadata.annotations = { [RETRAIN_ANNOTATION]: '' };
    if (opts.drift === false) delete p.spec.triggers.drift;
    if (opts.schedule) p.spec.triggers.schedule = opts.schedule;
    if (opts.last) p.status = { lastTriggerTime: opts.last, lastTriggerReason: 'Drift' };
  });
}

describe('scheduleError', () => {
  it.each([
    ['0 3 * * 0', false],
    ['@weekly', false],
    ['*/15 * * * *', false],
    ['61 * * * *', true],
    ['0 25 * * *', true],
    ['0 3 * * 8', true],
  ])('%s refused: %s', (schedule, refused) => {
    expect(scheduleError(schedule) !== undefined).toBe(refused);
  });
});

describe('scheduleDue', () => {
  const d = (s: string) => new Date(s);
  it.each([
    [
      'exactly at the schedule time',
      '2026-12-02T03:00:00Z',
      '2026-12-03T03:00:00Z',
      '2026-12-03T03:00:00.000Z',
    ],
    ['a millisecond before it', '2026-12-02T03:00:00Z', '2026-12-03T02:59:59.999Z', undefined],
    [
      'half a second after it',
      '2026-12-02T03:00:00Z',
      '2026-12-03T03:00:00.500Z',
      '2026-12-03T03:00:00.000Z',
    ],
    [
      'the time already counted (after = the time)',
      '2026-12-03T03:00:00Z',
      '2026-12-03T03:00:00Z',
      undefined,
    ],
    [
      'counted a millisecond before it',
      '2026-12-03T02:59:59.999Z',
      '2026-12-03T03:00:00Z',
      '2026-12-03T03:00:00.000Z',
    ],
    [
      'several missed: only the latest',
      '2026-11-20T00:00:00Z',
      '2026-12-03T10:00:00Z',
      '2026-12-03T03:00:00.000Z',
    ],
  ])('%s', (_name, after, now, due) => {
    expect(scheduleDue('0 3 * * *', d(after), d(now))?.toISOString()).toBe(due);
  });

  it('reads the schedule in UTC and accepts macros', () => {
    expect(scheduleDue('*/5 * * * *', d('2026-12-03T02:00:00Z'), d('2026-12-03T02:17:00Z'))).toEqual(
      d('2026-12-03T02:15:00Z'),
    );
    expect(scheduleDue('@daily', d('2026-12-02T12:00:00Z'), d('2026-12-03T00:00:01Z'))).toEqual(
      d('2026-12-03T00:00:00Z'),
    );
  });
});

describe('nextSchedule', () => {
  it.each([
    ['just before the time', '2026-12-03T02:59:59.999Z', '0 3 * * *', '2026-12-03T03:00:00.000Z'],
    ['exactly at it: the next one', '2026-12-03T03:00:00Z', '0 3 * * *', '2026-12-04T03:00:00.000Z'],
    ['@weekly: Sunday midnight', '2026-12-03T10:00:00Z', '@weekly', '2026-12-06T00:00:00.000Z'],
  ])('%s', (_name, now, schedule, next) => {
    expect(nextSchedule(schedule, new Date(now)).toISOString()).toBe(next);
  });
});

describe('decideTrigger', () => {
  it('starts nothing while a Job runs, not even for the retrain annotation', () => {
    expect(
      decideTrigger({ policy: policy({ annotate: true }), now: NOW, jobActive: true, drift: drift() }),
    ).toEqual({});
  });

  it('fires Manual for the annotation, inside the cooldown too', () => {
    expect(
      decideTrigger({ policy: policy({ annotate: true, last: ago(H) }), now: NOW, jobActive: false }),
    ).toEqual({
      fire: 'Manual',
      message: 'the prognos.dev/retrain annotation asked for a run',
    });
  });

  it('prefers the annotation over drift and drift over the schedule', () => {
    const both = policy({ schedule: '0 3 * * *' });
    expect(
      decideTrigger({ policy: policy({ annotate: true }), now: NOW, jobActive: false, drift: drift() }).fire,
    ).toBe('Manual');
    expect(decideTrigger({ policy: both, now: NOW, jobActive: false, drift: drift() }).fire).toBe('Drift');
    expect(decideTrigger({ policy: both, now: NOW, jobActive: false }).fire).toBe('Schedule');
  });

  it('fires on drift, naming the first drifting feature with rounded figures', () => {
    const d = drift({ features: [temperature, vibration] });
    expect(decideTrigger({ policy: policy(), now: NOW, jobActive: false, drift: d })).toEqual({
      fire: 'Drift',
      message: "vibration drifted from version v1's training baseline: psi 0.312 > 0.2 over 1200 readings",
    });
  });

  it('says the inputs drifted when no single feature is named', () => {
    expect(
      decideTrigger({ policy: policy(), now: NOW, jobActive: false, drift: drift({ features: [] }) }),
    ).toEqual({
      fire: 'Drift',
      message: "the inputs drifted from version v1's training baseline",
    });
  });

  it.each([
    ['not judged (too few readings)', policy(), drift({ judged: false })],
    ['judged and not drifting', policy(), drift({ drifting: false })],
    ['no assessment', policy(), undefined],
    [
      'drifting, but the policy has no drift trigger',
      policy({ drift: false, schedule: '0 3 1 1 *' }),
      drift(),
    ],
  ])('does not fire on drift: %s', (_name, p, d) => {
    const decision = decideTrigger({ policy: p, now: NOW, jobActive: false, drift: d });
    expect(decision).not.toHaveProperty('fire');
    expect(decision).not.toHaveProperty('suppressed');
  });

  it('suppresses drift in the cooldown and looks again when it ends', () => {
    const decision = decideTrigger({
      policy: policy({ last: ago(2 * H) }),
      now: NOW,
      jobActive: false,
      drift: drift(),
    });
    expect(decision).toEqual({
      suppressed: {
        reason: 'Drift',
        message:
          "vibration drifted from version v1's training baseline: psi 0.312 > 0.2 over 1200 readings; in cooldown until 2026-12-03T14:00:00.000Z",
      },
      recheckAfterMs: 4 * H,
    });
  });

  it.each([
    ['a millisecond before the cooldown ends', 6 * H - 1, undefined],
    ['exactly when it ends', 6 * H, 'Drift'],
    ['after it', 7 * H, 'Drift'],
  ])('drift %s', (_name, since, fire) => {
    const decision = decideTrigger({
      policy: policy({ last: ago(since) }),
      now: NOW,
      jobActive: false,
      drift: drift(),
    });
    expect(decision.fire).toBe(fire);
    if (!fire) expect(decision.recheckAfterMs).toBe(1);
  });

  it('fires on a schedule time since the last run', () => {
    const p = policy({ schedule: '0 3 * * *', drift: false, last: '2026-12-02T03:00:05Z' });
    expect(decideTrigger({ policy: p, now: NOW, jobActive: false })).toEqual({
      fire: 'Schedule',
      message: 'schedule "0 3 * * *" was due at 2026-12-03T03:00:00.000Z',
    });
  });

  it('suppresses a schedule time in the cooldown', () => {
    const p = policy({ schedule: '0 * * * *', drift: false, last: ago(H) });
    const decision = decideTrigger({ policy: p, now: NOW, jobActive: false });
    expect(decision).toMatchObject({ suppressed: { reason: 'Schedule' }, recheckAfterMs: 5 * H });
  });

  it('does not fire a new policy for schedule times before it was created, and looks again at the next', () => {
    const p = policy({ schedule: '0 3 * * *', drift: false, created: '2026-12-03T03:00:01Z' });
    expect(decideTrigger({ policy: p, now: NOW, jobActive: false })).toEqual({ recheckAfterMs: 17 * H });
  });

  it('fires a new policy for the first schedule time after its creation', () => {
    const p = policy({ schedule: '0 3 * * *', drift: false, created: '2026-12-02T12:00:00Z' });
    expect(decideTrigger({ policy: p, now: NOW, jobActive: false }).fire).toBe('Schedule');
  });

  it('looks again at the next schedule time when nothing fires', () => {
    const p = policy({ schedule: '30 10 * * *', last: ago(H) });
    expect(
      decideTrigger({ policy: p, now: NOW, jobActive: false, drift: drift({ drifting: false }) }),
    ).toEqual({
      recheckAfterMs: 30 * 60_000,
    });
  });

  it('has nothing to look again for without a schedule', () => {
    expect(decideTrigger({ policy: policy(), now: NOW, jobActive: false })).toEqual({});
  });
});
