import { describe, expect, it } from 'vitest';
import type { KubeClient, ObjectRef } from './kubeClient.ts';
import { StatusWrites, updateStatus } from './status.ts';

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

describe('StatusWrites', () => {
  const obj = (rv: string, status?: object) => ({
    ...fleet(status),
    metadata: { ...fleet().metadata, uid: 'u1', resourceVersion: rv },
  });

  it('hands out the written status while the cache still shows the older object', () => {
    const writes = new StatusWrites();
    writes.record(obj('10', { machinesSeen: 4 }));
    expect(writes.fresh(obj('9')).status).toEqual({ machinesSeen: 4 });
    expect(writes.fresh(obj('9', { machinesSeen: 1 })).status).toEqual({ machinesSeen: 4 });
    expect(writes.size).toBe(1);
  });

  it('trusts the cache again once it shows the write (same resourceVersion or same status)', () => {
    const writes = new StatusWrites();
    writes.record(obj('10', { machinesSeen: 4 }));
    const cached = obj('10', { machinesSeen: 4 });
    expect(writes.fresh(cached)).toBe(cached);
    expect(writes.size).toBe(0);
    writes.record(obj('12', { machinesSeen: 5 }));
    const later = obj('13', { machinesSeen: 5 }); // a later metadata change
    expect(writes.fresh(later)).toBe(later);
    expect(writes.size).toBe(0);
  });

  it('forgets a write after maxAgeMs, and ignores a recreated object (new uid)', () => {
    let now = 0;
    const writes = new StatusWrites({ maxAgeMs: 1_000, now: () => now });
    writes.record(obj('10', { machinesSeen: 4 }));
    const recreated = { ...obj('3'), metadata: { ...obj('3').metadata, uid: 'u2' } };
    expect(writes.fresh(recreated)).toBe(recreated);
    writes.record(obj('10', { machinesSeen: 4 }));
    now = 1_001;
    const stale = obj('9');
    expect(writes.fresh(stale)).toBe(stale);
  });

  it('updateStatus records what the server returned and skips a write the cache has not shown yet', async () => {
    const writes: unknown[] = [];
    const client = {
      // As the API server: the stored object comes back with its uid and a new resourceVersion.
      patch: async (_ref: ObjectRef, body: { metadata: object }) => {
        writes.push(body);
        return { ...body, metadata: { ...body.metadata, uid: 'u1', resourceVersion: '10' } };
      },
    } as unknown as KubeClient;
    const memo = new StatusWrites();
    expect(await updateStatus(client, obj('9'), { machinesSeen: 4 }, memo)).toBe(true);
    expect(await updateStatus(client, memo.fresh(obj('9')), { machinesSeen: 4 }, memo)).toBe(false);
    expect(writes).toHaveLength(1);
  });
});
