import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { addFinalizer, reconcileFinalizer, removeFinalizer } from './finalizers.ts';
import { ApiError, type KubeClient, type ObjectRef } from './kubeClient.ts';

/** An API server holding one object, with merge-patch resourceVersion preconditions. */
function server(initial: KubernetesObject) {
  let stored = structuredClone(initial);
  const patches: unknown[] = [];
  const client = {
    get: async () => structuredClone(stored),
    patch: async (
      _ref: ObjectRef,
      body: { metadata: { resourceVersion?: string; finalizers: string[] } },
    ) => {
      patches.push(body);
      if (body.metadata.resourceVersion !== stored.metadata?.resourceVersion)
        throw new ApiError(409, 'Conflict', 'stale');
      stored = {
        ...stored,
        metadata: {
          ...stored.metadata,
          finalizers: body.metadata.finalizers,
          resourceVersion: String(Number(stored.metadata?.resourceVersion) + 1),
        },
      };
      return structuredClone(stored);
    },
  } as unknown as KubeClient;
  return {
    client,
    patches,
    stored: () => stored,
    /** Someone else changes the object behind our back. */
    otherWriter: (finalizers: string[]) => {
      stored = {
        ...stored,
        metadata: {
          ...stored.metadata,
          finalizers,
          resourceVersion: String(Number(stored.metadata?.resourceVersion) + 1),
        },
      };
    },
  };
}

const obj = (finalizers?: string[], extra: object = {}): KubernetesObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'a', namespace: 'ns', resourceVersion: '1', finalizers, ...extra },
});

describe('finalizers', () => {
  it('adds once, guarded by resourceVersion', async () => {
    const s = server(obj(['other.io/keep']));
    const updated = await addFinalizer(s.client, obj(['other.io/keep']), 'prognos.dev/cleanup');
    expect(updated?.metadata?.finalizers).toEqual(['other.io/keep', 'prognos.dev/cleanup']);
    expect(s.patches).toEqual([
      { metadata: { resourceVersion: '1', finalizers: ['other.io/keep', 'prognos.dev/cleanup'] } },
    ]);
    await addFinalizer(s.client, updated!, 'prognos.dev/cleanup');
    expect(s.patches).toHaveLength(1);
  });

  it('on conflict re-reads and keeps a finalizer someone else added meanwhile', async () => {
    const s = server(obj());
    const stale = obj();
    s.otherWriter(['other.io/keep']);
    await addFinalizer(s.client, stale, 'prognos.dev/cleanup');
    expect(s.stored().metadata?.finalizers).toEqual(['other.io/keep', 'prognos.dev/cleanup']);
    expect(s.patches).toHaveLength(2);
  });

  it('removes only its own finalizer', async () => {
    const s = server(obj(['a.io/x', 'prognos.dev/cleanup', 'b.io/y']));
    const stale = obj(['a.io/x', 'prognos.dev/cleanup', 'b.io/y']);
    s.otherWriter(['a.io/x', 'prognos.dev/cleanup', 'b.io/y', 'c.io/z']);
    await removeFinalizer(s.client, stale, 'prognos.dev/cleanup');
    expect(s.stored().metadata?.finalizers).toEqual(['a.io/x', 'b.io/y', 'c.io/z']);
  });

  it('gives up after repeated conflicts', async () => {
    const s = server(obj());
    const client = { ...s.client, get: async () => obj() } as unknown as KubeClient;
    s.otherWriter([]);
    await expect(addFinalizer(client, obj(), 'f')).rejects.toThrow(/stale/);
  });

  it('reconcileFinalizer: ensures the finalizer while alive, cleans up then releases when deleting', async () => {
    const s = server(obj());
    const cleaned: string[] = [];
    const cleanup = async (o: KubernetesObject) => void cleaned.push(o.metadata!.name!);
    const alive = await reconcileFinalizer(s.client, obj(), 'prognos.dev/cleanup', cleanup);
    expect(alive.deleting).toBe(false);
    expect(s.stored().metadata?.finalizers).toEqual(['prognos.dev/cleanup']);

    const deleting = { ...s.stored(), metadata: { ...s.stored().metadata, deletionTimestamp: new Date() } };
    expect(await reconcileFinalizer(s.client, deleting, 'prognos.dev/cleanup', cleanup)).toEqual({
      deleting: true,
    });
    expect(cleaned).toEqual(['a']);
    expect(s.stored().metadata?.finalizers).toEqual([]);
  });

  it('reconcileFinalizer keeps the finalizer when cleanup fails', async () => {
    const s = server(obj(['prognos.dev/cleanup'], { deletionTimestamp: new Date() }));
    const failing = () => Promise.reject(new Error('nats down'));
    await expect(reconcileFinalizer(s.client, s.stored(), 'prognos.dev/cleanup', failing)).rejects.toThrow(
      'nats down',
    );
    expect(s.stored().metadata?.finalizers).toEqual(['prognos.dev/cleanup']);
  });
});
