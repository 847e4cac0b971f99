import { describe, expect, it } from 'vitest';
import type { KubeClient, ObjectRef } from './kubeClient.ts';
import { updateStatus } from './status.ts';

function recordingClient() {
  const writes: { ref: ObjectRef; body: unknown; options: unknown }[] = [];
  const client = {
    patch: async (ref: ObjectRef, body: unknown, _ct: string, options: unknown) => {
      writes.push({ ref, body, options });
      return body;
    },
  } as unknown as KubeClient;
  return { client, writes };
}

const fleet = (status?: object) => ({
  apiVersion: 'prognos.dev/v1alpha1',
  kind: 'SensorFleet',
  metadata: { name: 'pumps', namespace: 'plant', generation: 3, resourceVersion: '9' },
  spec: { subject: 'x' },
  status,
});

describe('updateStatus', () => {
  it('applies the status subresource with observedGeneration when it changed', async () => {
    const { client, writes } = recordingClient();
    expect(await updateStatus(client, fleet(), { machinesSeen: 4 })).toBe(true);
    expect(writes).toEqual([
      {
        ref: { apiVersion: 'prognos.dev/v1alpha1', kind: 'SensorFleet', namespace: 'plant', name: 'pumps' },
        body: {
          apiVersion: 'prognos.dev/v1alpha1',
          kind: 'SensorFleet',
          metadata: { name: 'pumps', namespace: 'plant' },
          status: { machinesSeen: 4, observedGeneration: 3 },
        },
        options: { subresource: 'status', query: { fieldManager: 'prognos-operator', force: true } },
      },
    ]);
  });

  it.each([
    ['same status', { machinesSeen: 4, observedGeneration: 3 }, { machinesSeen: 4 }, false],
    ['older generation observed', { machinesSeen: 4, observedGeneration: 2 }, { machinesSeen: 4 }, true],
    ['value changed', { machinesSeen: 4, observedGeneration: 3 }, { machinesSeen: 5 }, true],
    [
      'field dropped',
      { machinesSeen: 4, lastReadingTime: 'x', observedGeneration: 3 },
      { machinesSeen: 4 },
      true,
    ],
  ])('%s → writes: %s', async (_name, current, next, writes) => {
    const c = recordingClient();
    expect(await updateStatus(c.client, fleet(current), next)).toBe(writes);
    expect(c.writes).toHaveLength(writes ? 1 : 0);
  });
});
