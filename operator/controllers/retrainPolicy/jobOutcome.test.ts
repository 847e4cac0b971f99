import type { V1Job, V1JobCondition, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { jobOutcome, parseTrainingResult, trainerMessage } from './jobOutcome.ts';

const job = (conditions?: Partial<V1JobCondition>[]): V1Job => ({
  metadata: { name: 'pump-retrain-1' },
  ...(conditions ? { status: { conditions: conditions as V1JobCondition[] } } : {}),
});

describe('jobOutcome', () => {
  it.each([
    ['no status yet', job(), 'Running'],
    ['active', job([]), 'Running'],
    ['Complete', job([{ type: 'Complete', status: 'True' }]), 'Succeeded'],
    ['Complete not holding', job([{ type: 'Complete', status: 'False' }]), 'Running'],
    [
      'Failed, retries exhausted',
      job([{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }]),
      'Failed',
    ],
    [
      'Failed past the deadline',
      job([{ type: 'Failed', status: 'True', reason: 'DeadlineExceeded' }]),
      'TimedOut',
    ],
    // Kubernetes 1.31+ sets FailureTarget / SuccessCriteriaMet while the pods are terminated.
    [
      'FailureTarget only',
      job([{ type: 'FailureTarget', status: 'True', reason: 'DeadlineExceeded' }]),
      'Running',
    ],
    [
      'SuccessCriteriaMet then Complete',
      job([
        { type: 'SuccessCriteriaMet', status: 'True' },
        { type: 'Complete', status: 'True' },
      ]),
      'Succeeded',
    ],
  ] as const)('%s: %s', (_name, j, outcome) => {
    expect(jobOutcome(j)).toBe(outcome);
  });
});

function pod(
  name: string,
  created: string,
  terminated?: { exitCode: number; message?: string },
  container = 'trainer',
): V1Pod {
  return {
    metadata: { name, creationTimestamp: created as unknown as Date },
    status: {
      containerStatuses: [
        {
          name: container,
          image: 'trainer:1',
          imageID: '',
          ready: false,
          restartCount: 0,
          state: terminated ? { terminated } : { running: {} },
        },
      ],
    },
  };
}

describe('trainerMessage', () => {
  const failedOld = pod('a', '2026-12-03T09:00:00Z', { exitCode: 1, message: 'first try: OOM' });
  const failedNew = pod('b', '2026-12-03T09:05:00Z', {
    exitCode: 2,
    message: '  stream PROGNOS_X not found\n',
  });
  const succeeded = pod('c', '2026-12-03T09:10:00Z', { exitCode: 0, message: '{"ok":1}' });

  it.each([
    [
      'the newest failed pod, trimmed',
      [failedOld, succeeded, failedNew],
      'nonzero',
      'stream PROGNOS_X not found',
    ],
    ['the succeeded pod', [failedOld, failedNew, succeeded], 'zero', '{"ok":1}'],
    ['no pod with that exit', [failedOld, failedNew], 'zero', undefined],
    ['a running pod has none', [pod('d', '2026-12-03T09:20:00Z')], 'nonzero', undefined],
    [
      'only the trainer container counts',
      [pod('e', '2026-12-03T09:20:00Z', { exitCode: 1, message: 'sidecar' }, 'proxy')],
      'nonzero',
      undefined,
    ],
    [
      'an empty message is none',
      [pod('f', '2026-12-03T09:20:00Z', { exitCode: 1, message: ' \n' })],
      'nonzero',
      undefined,
    ],
    ['no pods', [], 'nonzero', undefined],
  ] as const)('%s', (_name, pods, exit, message) => {
    expect(trainerMessage([...pods], exit)).toBe(message);
  });
});

describe('parseTrainingResult', () => {
  const candidate = {
    version: 'pump-failure-rt-1',
    uri: 'nats-os://prognos-models/x',
    sha256: 'c'.repeat(64),
  };
  const good = {
    candidate,
    metric: 'f1',
    candidateMetric: 0.82,
    stableMetric: 0.8,
    rows: { train: 80, holdout: 20 },
  };
  const json = (over: object) => JSON.stringify({ ...good, ...over });

  it('reads a TrainingResult', () => {
    expect(parseTrainingResult(JSON.stringify(good))).toEqual(good);
    const first = { ...good, stableMetric: undefined, warning: 'the stream holds 2d of the 7d data window' };
    expect(parseTrainingResult(JSON.stringify(first))).toEqual({
      candidate,
      metric: 'f1',
      candidateMetric: 0.82,
      rows: { train: 80, holdout: 20 },
      warning: 'the stream holds 2d of the 7d data window',
    });
  });

  it.each([
    ['no message', undefined, 'the trainer wrote no termination message'],
    ['an empty message', '', 'the trainer wrote no termination message'],
    ['not JSON', 'Traceback: boom', 'the termination message is not a TrainingResult: Traceback: boom'],
    ['JSON null', 'null', 'the termination message is not a TrainingResult: null'],
    ['a JSON number', '42', 'the termination message is not a TrainingResult: 42'],
    ['a JSON array', '[1]', 'the termination message is not a TrainingResult: [1]'],
    [
      'no candidate',
      json({ candidate: undefined }),
      'the TrainingResult names no candidate {version, uri, sha256}',
    ],
    [
      'a candidate without uri',
      json({ candidate: { ...candidate, uri: undefined } }),
      'the TrainingResult names no candidate {version, uri, sha256}',
    ],
    [
      'a sha256 that is not 64 hex digits',
      json({ candidate: { ...candidate, sha256: 'C'.repeat(64) } }),
      'the TrainingResult names no candidate {version, uri, sha256}',
    ],
    [
      'a numeric version',
      json({ candidate: { ...candidate, version: 3 } }),
      'the TrainingResult names no candidate {version, uri, sha256}',
    ],
    [
      'no metric',
      json({ metric: undefined }),
      'the TrainingResult has no numeric candidateMetric for its metric',
    ],
    [
      'a non-numeric candidateMetric',
      json({ candidateMetric: '0.82' }),
      'the TrainingResult has no numeric candidateMetric for its metric',
    ],
    [
      'a null candidateMetric (NaN in JSON)',
      json({ candidateMetric: null }),
      'the TrainingResult has no numeric candidateMetric for its metric',
    ],
    [
      'a non-numeric stableMetric',
      json({ stableMetric: 'n/a' }),
      'the TrainingResult stableMetric is not a number',
    ],
    ['a null stableMetric', json({ stableMetric: null }), 'the TrainingResult stableMetric is not a number'],
  ])('refuses %s', (_name, message, error) => {
    expect(parseTrainingResult(message)).toEqual({ error });
  });

  it('quotes at most 200 characters of a message that is not JSON', () => {
    const long = 'x'.repeat(500);
    expect(parseTrainingResult(long)).toEqual({
      error: `the termination message is not a TrainingResult: ${'x'.repeat(200)}`,
    });
  });
});
