import { describe, expect, it } from 'vitest';
import { kubernetesServiceEnv, statusPatch } from './podWorker.ts';
import type { OwnedPodStatus } from './status.ts';

describe('statusPatch', () => {
  it('guards on the uid and sets each owned field whole', () => {
    const status: OwnedPodStatus = {
      phase: 'Running',
      conditions: [],
      containerStatuses: [],
      hostIP: '127.0.0.1',
      hostIPs: [{ ip: '127.0.0.1' }],
      podIP: '127.0.1.1',
    };
    expect(statusPatch(status, 'u-1')).toEqual([
      { op: 'test', path: '/metadata/uid', value: 'u-1' },
      { op: 'add', path: '/status/phase', value: 'Running' },
      { op: 'add', path: '/status/conditions', value: [] },
      { op: 'add', path: '/status/containerStatuses', value: [] },
      { op: 'add', path: '/status/hostIP', value: '127.0.0.1' },
      { op: 'add', path: '/status/hostIPs', value: [{ ip: '127.0.0.1' }] },
      { op: 'add', path: '/status/podIP', value: '127.0.1.1' },
    ]);
  });
});

describe('kubernetesServiceEnv', () => {
  it('points the kubernetes service variables at the real API server', () => {
    expect(kubernetesServiceEnv(new URL('https://127.0.0.1:6443'))).toMatchObject({
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: '6443',
      KUBERNETES_PORT: 'tcp://127.0.0.1:6443',
    });
  });
});
