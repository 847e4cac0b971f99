import { describe, expect, it } from 'vitest';
import { podEvent } from './events.ts';

describe('podEvent', () => {
  it('describes a container event the way kubectl describe shows it', () => {
    const e = podEvent(
      { metadata: { name: 'p', namespace: 'ns', uid: 'u' } },
      'kubelet',
      'prognos-local',
      'Warning',
      'Unhealthy',
      'Liveness probe failed',
      'web',
      new Date('2026-01-01T00:00:00.123Z'),
    );
    expect(e).toMatchObject({
      metadata: { generateName: 'p.', namespace: 'ns' },
      involvedObject: {
        kind: 'Pod',
        name: 'p',
        namespace: 'ns',
        uid: 'u',
        fieldPath: 'spec.containers{web}',
      },
      type: 'Warning',
      reason: 'Unhealthy',
      source: { component: 'kubelet', host: 'prognos-local' },
      firstTimestamp: '2026-01-01T00:00:00Z',
      count: 1,
    });
  });
});
