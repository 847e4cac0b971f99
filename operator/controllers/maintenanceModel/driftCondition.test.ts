import { describe, expect, it } from 'vitest';
import type { RetrainPolicy } from '../../api/retrainPolicy.ts';
import { modelFixture } from '../testdata/fixtures.ts';
import { policyFixture } from '../testdata/retrainPolicy.ts';
import { driftWatcher, modelDriftCondition } from './driftCondition.ts';

const T = '2026-12-03T10:00:00Z';
const drifting = {
  type: 'Drifting',
  status: 'True' as const,
  reason: 'DriftDetected',
  message: 'version v1: temperature psi 0.41 > 0.2',
  lastTransitionTime: T,
};

function policy(name: string, patch: (p: RetrainPolicy) => void = () => {}): RetrainPolicy {
  return policyFixture((p) => {
    p.metadata.name = name;
    patch(p);
  });
}

describe('driftWatcher', () => {
  it.each<[string, RetrainPolicy[], string | undefined]>([
    ['no policy', [], undefined],
    ['a policy of another model', [policy('a', (p) => (p.spec.modelRef.name = 'other'))], undefined],
    ['a policy in another namespace', [policy('a', (p) => (p.metadata.namespace = 'plant-b'))], undefined],
    [
      'a policy without a drift trigger',
      [policy('a', (p) => (p.spec.triggers = { schedule: '@daily' }))],
      undefined,
    ],
    ['a policy being deleted', [policy('a', (p) => (p.metadata.deletionTimestamp = new Date(T)))], undefined],
    ['the first by name of two', [policy('zeta'), policy('alpha')], 'alpha'],
  ])('%s', (_name, policies, want) => {
    expect(driftWatcher(modelFixture(), policies)?.metadata.name).toBe(want);
  });
});

describe('modelDriftCondition', () => {
  it('is absent when no policy watches drift (the condition is removed)', () => {
    expect(modelDriftCondition(modelFixture(), [])).toBeUndefined();
  });

  it('is not judged until the policy has judged', () => {
    expect(modelDriftCondition(modelFixture(), [policy('pump-retrain')])).toEqual({
      type: 'Drifting',
      status: 'False',
      reason: 'DriftNotJudged',
      message: 'RetrainPolicy pump-retrain has not judged drift yet',
      observedGeneration: 2,
    });
  });

  it.each([
    [drifting, 'True', 'DriftDetected'],
    [
      {
        ...drifting,
        status: 'False' as const,
        reason: 'NoDrift',
        message: 'version v1: every watched input within its threshold',
      },
      'False',
      'NoDrift',
    ],
    [
      {
        ...drifting,
        status: 'False' as const,
        reason: 'DriftNotJudged',
        message: 'fewer than 1000 readings in the window',
      },
      'False',
      'DriftNotJudged',
    ],
  ])("mirrors the policy's verdict, naming the policy (%#)", (judged, status, reason) => {
    const p = policy('pump-retrain', (x) => (x.status = { conditions: [judged] }));
    expect(modelDriftCondition(modelFixture(), [p])).toEqual({
      type: 'Drifting',
      status,
      reason,
      message: `RetrainPolicy pump-retrain: ${judged.message}`,
      observedGeneration: 2,
    });
  });
});
