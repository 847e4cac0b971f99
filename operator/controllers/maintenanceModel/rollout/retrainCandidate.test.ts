import { describe, expect, it } from 'vitest';
import type { MaintenanceModel, MaintenanceModelStatus } from '../../../api/maintenanceModel.ts';
import type { CandidateVerdict, RetrainPolicy } from '../../../api/retrainPolicy.ts';
import { modelFixture } from '../../testdata/fixtures.ts';
import { policyFixture } from '../../testdata/retrainPolicy.ts';
import { retrainCandidate, specSuperseded } from './retrainCandidate.ts';

const SPEC_SHA = 'a'.repeat(64);
const sha = (c: string) => c.repeat(64);

const candidate = (n: number, verdict: CandidateVerdict, createdAt: string) => ({
  version: `pump-failure-rt-${n}`,
  uri: `nats-os://prognos-models/pump-failure-rt-${n}`,
  sha256: sha(String(n)),
  createdAt,
  verdict,
});

function policy(
  candidates: ReturnType<typeof candidate>[],
  patch: (p: RetrainPolicy) => void = () => {},
): RetrainPolicy {
  return policyFixture((p) => {
    p.spec.promotion = 'Auto';
    p.status = { candidates };
    patch(p);
  });
}

const model = (status: MaintenanceModelStatus = { stable: { version: 'v1', sha256: SPEC_SHA } }) =>
  modelFixture((m) => (m.status = status));

const pick = (n: number, name = 'pump-retrain') => ({
  policy: name,
  version: `pump-failure-rt-${n}`,
  uri: `nats-os://prognos-models/pump-failure-rt-${n}`,
  sha256: sha(String(n)),
});

describe('retrainCandidate', () => {
  const older = candidate(1, 'Passed', '2026-12-03T08:00:00Z');
  const newer = candidate(2, 'Passed', '2026-12-03T09:00:00Z');

  it.each([
    ['no policies', model(), [], undefined],
    ['the newest passed candidate', model(), [policy([older, newer])], pick(2)],
    // Newest by creation time, not by list position.
    ['newest whatever the order', model(), [policy([newer, older])], pick(2)],
    [
      'passed only',
      model(),
      [
        policy([
          older,
          candidate(3, 'Failed', '2026-12-03T10:00:00Z'),
          candidate(4, 'Evaluating', '2026-12-03T10:00:00Z'),
          candidate(5, 'Rejected', '2026-12-03T10:00:00Z'),
          candidate(6, 'Promoted', '2026-12-03T10:00:00Z'),
        ]),
      ],
      pick(1),
    ],
    ['not a Manual policy', model(), [policy([newer], (p) => (p.spec.promotion = 'Manual'))], undefined],
    [
      'not one that already serves',
      model({ stable: { version: newer.version, sha256: newer.sha256 } }),
      [policy([older, newer])],
      pick(1),
    ],
    [
      'not one whose rollout was rolled back',
      model({
        stable: { version: 'v1', sha256: SPEC_SHA },
        rolledBack: {
          version: newer.version,
          sha256: newer.sha256,
          time: '2026-12-03T09:30:00Z',
          reason: 'AnalysisFailed',
          message: 'errorRate 0.2 > maxErrorRate 0.01',
        },
      }),
      [policy([older, newer])],
      pick(1),
    ],
    [
      'not from a policy in another namespace',
      model(),
      [policy([newer], (p) => (p.metadata.namespace = 'plant-b'))],
      undefined,
    ],
    [
      'not from a policy of another model',
      model(),
      [policy([newer], (p) => (p.spec.modelRef.name = 'pump-rul'))],
      undefined,
    ],
    [
      'not from a policy being deleted',
      model(),
      [policy([newer], (p) => (p.metadata.deletionTimestamp = '2026-12-03T09:45:00Z' as unknown as Date))],
      undefined,
    ],
    [
      'the newest across policies',
      model(),
      [
        policy([newer], (p) => (p.metadata.name = 'weekly')),
        policy([older], (p) => (p.metadata.name = 'drift')),
      ],
      pick(2, 'weekly'),
    ],
    [
      'the newest of the policies that count',
      model(),
      [
        policy([candidate(7, 'Passed', '2026-12-03T11:00:00Z')], (p) => (p.spec.promotion = 'Manual')),
        policy([older], (p) => (p.metadata.name = 'drift')),
      ],
      pick(1, 'drift'),
    ],
    ['a policy without status', model(), [policyFixture((p) => (p.spec.promotion = 'Auto'))], undefined],
    ['a model without status', model({}), [policy([newer])], pick(2)],
  ] as const)('%s', (_name, m, policies, expected) => {
    expect(retrainCandidate(m as MaintenanceModel, [...policies])).toEqual(expected);
  });
});

describe('specSuperseded', () => {
  const auto = {
    policy: 'pump-retrain',
    version: 'pump-failure-rt-2',
    uri: 'nats-os://prognos-models/pump-failure-rt-2',
    sha256: sha('2'),
    time: '2026-12-03T09:00:00Z',
  };

  it.each([
    ['no automatic promotion', {}, false],
    ['an automatic promotion over spec.model', { autoPromoted: { ...auto, over: SPEC_SHA } }, true],
    // A new spec.model rolls out over the promoted candidate as usual.
    ['spec.model changed since', { autoPromoted: { ...auto, over: sha('f') } }, false],
  ])('%s', (_name, status, superseded) => {
    expect(specSuperseded(model(status))).toBe(superseded);
  });
});
