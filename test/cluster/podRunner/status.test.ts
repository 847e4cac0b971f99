import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { computePodStatus, podPhase, type ContainerSnapshot, type PodSnapshot } from './status.ts';

const t0 = '2026-01-01T00:00:00Z';
const t1 = '2026-01-01T00:01:00Z';
const running: ContainerSnapshot['state'] = { running: { startedAt: t0 } };
const exited = (exitCode: number): ContainerSnapshot['state'] => ({
  terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', finishedAt: t0 },
});
const waiting: ContainerSnapshot['state'] = { waiting: { reason: 'ContainerCreating' } };
const backoff: ContainerSnapshot['state'] = { waiting: { reason: 'CrashLoopBackOff' } };

function c(state: ContainerSnapshot['state'], extra: Partial<ContainerSnapshot> = {}): ContainerSnapshot {
  return {
    name: 'main',
    image: 'i',
    imageID: 'id',
    state,
    restartCount: 0,
    ready: false,
    started: false,
    ...extra,
  };
}

const lastTerminated = exited(1) as { terminated: ContainerSnapshot['lastTerminated'] & object };

describe('podPhase', () => {
  it.each<[string, ContainerSnapshot[], string | undefined, boolean, string]>([
    ['no containers', [], 'Always', false, 'Pending'],
    ['creating', [c(waiting)], 'Always', false, 'Pending'],
    ['running', [c(running)], 'Always', false, 'Running'],
    ['one running, one creating', [c(running), c(waiting)], 'Always', false, 'Pending'],
    [
      'backing off after a crash',
      [c(backoff, { lastTerminated: lastTerminated.terminated })],
      'Always',
      false,
      'Running',
    ],
    ['exited 0, Always', [c(exited(0))], 'Always', false, 'Running'],
    ['exited 0, Never', [c(exited(0))], 'Never', false, 'Succeeded'],
    ['exited 1, Never', [c(exited(1))], 'Never', false, 'Failed'],
    ['exited 0, OnFailure', [c(exited(0))], 'OnFailure', false, 'Succeeded'],
    ['exited 1, OnFailure (restarting)', [c(exited(1))], 'OnFailure', false, 'Running'],
    ['one of two done, Never', [c(exited(0)), c(running)], 'Never', false, 'Running'],
    ['deleted, exited 0 under Always', [c(exited(0))], 'Always', true, 'Succeeded'],
    ['deleted, killed under Always', [c(exited(143))], 'Always', true, 'Failed'],
    ['deleted before it started', [c(waiting)], 'Always', true, 'Failed'],
  ])('%s -> %s', (_name, containers, restartPolicy, terminal, phase) => {
    expect(podPhase({ containers, restartPolicy, terminal })).toBe(phase);
  });
});

const pod: V1Pod = { metadata: { name: 'p', uid: 'u' }, spec: { containers: [{ name: 'main' }] } };
const snap = (containers: ContainerSnapshot[], extra: Partial<PodSnapshot> = {}): PodSnapshot => ({
  containers,
  restartPolicy: 'Always',
  podIP: '127.0.1.1',
  hostIP: '127.0.0.1',
  startTime: t0,
  terminal: false,
  ...extra,
});
const cond = (s: ReturnType<typeof computePodStatus>, type: string) =>
  s.conditions.find((x) => x.type === type);

describe('computePodStatus', () => {
  it('reports a ready running pod', () => {
    const s = computePodStatus(pod, snap([c(running, { ready: true, started: true })]), t0);
    expect(s.phase).toBe('Running');
    expect(s.podIP).toBe('127.0.1.1');
    expect(s.podIPs).toEqual([{ ip: '127.0.1.1' }]);
    expect(s.hostIPs).toEqual([{ ip: '127.0.0.1' }]);
    expect(s.startTime).toBe(t0);
    for (const type of [
      'PodScheduled',
      'Initialized',
      'ContainersReady',
      'Ready',
      'PodReadyToStartContainers',
    ]) {
      expect(cond(s, type)).toMatchObject({ status: 'True', lastTransitionTime: t0 });
    }
    expect(s.containerStatuses[0]).toMatchObject({
      ready: true,
      started: true,
      state: running,
      lastState: {},
    });
  });

  it('names unready containers', () => {
    const s = computePodStatus(pod, snap([c(running)]), t0);
    expect(cond(s, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ContainersNotReady',
      message: 'containers with unready status: [main]',
    });
  });

  it('keeps lastTransitionTime while a condition holds and moves it when it flips', () => {
    const first = computePodStatus(pod, snap([c(running)]), t0);
    const withStatus: V1Pod = { ...pod, status: { conditions: first.conditions as never } };
    const same = computePodStatus(withStatus, snap([c(running)]), t1);
    expect(same).toEqual(first);
    const flipped = computePodStatus(withStatus, snap([c(running, { ready: true })]), t1);
    expect(cond(flipped, 'Ready')!.lastTransitionTime).toBe(t1);
    expect(cond(flipped, 'PodScheduled')!.lastTransitionTime).toBe(t0);
  });

  it('keeps conditions it does not own and honours readiness gates', () => {
    const gated: V1Pod = {
      ...pod,
      spec: { ...pod.spec!, readinessGates: [{ conditionType: 'example.com/gate' }] },
      status: {
        conditions: [{ type: 'example.com/gate', status: 'False', lastTransitionTime: new Date(t0) }],
      },
    };
    const s = computePodStatus(gated, snap([c(running, { ready: true })]), t1);
    expect(cond(s, 'example.com/gate')).toMatchObject({ status: 'False', lastTransitionTime: t0 });
    expect(cond(s, 'ContainersReady')!.status).toBe('True');
    expect(cond(s, 'Ready')).toMatchObject({ status: 'False', reason: 'ReadinessGatesNotReady' });
  });

  it('reports a completed pod as not ready with PodCompleted', () => {
    const s = computePodStatus(pod, snap([c(exited(0))], { restartPolicy: 'Never' }), t0);
    expect(s.phase).toBe('Succeeded');
    expect(cond(s, 'Ready')).toMatchObject({ status: 'False', reason: 'PodCompleted' });
  });

  it('reports lastState after a restart', () => {
    const s = computePodStatus(
      pod,
      snap([c(running, { restartCount: 2, lastTerminated: lastTerminated.terminated })]),
      t0,
    );
    expect(s.containerStatuses[0]).toMatchObject({
      restartCount: 2,
      lastState: { terminated: { exitCode: 1 } },
    });
  });
});
