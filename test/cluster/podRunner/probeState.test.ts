import { describe, expect, it } from 'vitest';
import { crashLoopDelayMs, shouldRestart } from './backoff.ts';
import { initialTracker, observeProbe, probeTiming, type ProbeKind } from './probeState.ts';
import { schedulingDecision } from './scheduling.ts';

describe('probeTiming', () => {
  it('fills in the Kubernetes defaults', () => {
    expect(probeTiming({})).toEqual({
      initialDelayMs: 0,
      periodMs: 10_000,
      timeoutMs: 1000,
      successThreshold: 1,
      failureThreshold: 3,
    });
  });
});

describe('observeProbe', () => {
  const run = (kind: ProbeKind, outcomes: boolean[], successThreshold: number, failureThreshold: number) => {
    const timing = { ...probeTiming({}), successThreshold, failureThreshold };
    let t = initialTracker(kind);
    return outcomes.map((ok) => (t = observeProbe(t, ok, timing)).result);
  };

  it.each<[ProbeKind, boolean[], number, number, string[]]>([
    ['readiness', [true], 1, 3, ['success']],
    ['readiness', [false], 1, 3, ['failure']],
    [
      'readiness',
      [true, true, false, false, false],
      1,
      3,
      ['success', 'success', 'success', 'success', 'failure'],
    ],
    ['readiness', [true, false, true, true], 2, 1, ['failure', 'failure', 'failure', 'success']],
    ['liveness', [false, false, false], 1, 3, ['unknown', 'unknown', 'failure']],
    [
      'liveness',
      [false, false, true, false, false],
      1,
      3,
      ['unknown', 'unknown', 'success', 'success', 'success'],
    ],
    ['startup', [false, true], 1, 30, ['unknown', 'success']],
  ])('%s %j (success %i, failure %i) -> %j', (kind, outcomes, s, f, results) => {
    expect(run(kind, outcomes, s, f)).toEqual(results);
  });
});

describe('crash loop backoff', () => {
  it.each([
    [0, 1000],
    [1, 2000],
    [3, 8000],
    [6, 60_000],
    [20, 60_000],
  ])('restart %i waits %i ms', (n, ms) => expect(crashLoopDelayMs(n)).toBe(ms));

  it.each<[string | undefined, number, boolean]>([
    [undefined, 0, true],
    ['Always', 0, true],
    ['Always', 1, true],
    ['OnFailure', 0, false],
    ['OnFailure', 2, true],
    ['Never', 1, false],
  ])('restartPolicy %s, exit %i -> restart %s', (policy, code, restart) => {
    expect(shouldRestart(policy, code)).toBe(restart);
  });
});

describe('schedulingDecision', () => {
  const labels = { 'kubernetes.io/os': 'linux', 'kubernetes.io/hostname': 'prognos-local' };
  it.each<[string, object, string]>([
    ['pending pod', { spec: { containers: [] } }, 'bind'],
    ['already bound', { spec: { nodeName: 'n', containers: [] } }, 'ignore'],
    ['being deleted', { metadata: { deletionTimestamp: new Date() }, spec: { containers: [] } }, 'ignore'],
    ['other scheduler', { spec: { schedulerName: 'volcano', containers: [] } }, 'ignore'],
    [
      'matching selector',
      { spec: { nodeSelector: { 'kubernetes.io/os': 'linux' }, containers: [] } },
      'bind',
    ],
    ['selector mismatch', { spec: { nodeSelector: { gpu: 'true' }, containers: [] } }, 'unschedulable'],
    [
      'mismatch already reported',
      {
        spec: { nodeSelector: { gpu: 'true' }, containers: [] },
        status: { conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] },
      },
      'ignore',
    ],
  ])('%s -> %s', (_name, pod, kind) => {
    expect(schedulingDecision({ metadata: {}, ...pod }, 'prognos-local', labels).kind).toBe(kind);
  });
});
