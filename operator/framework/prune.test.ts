import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ApiError, type KubeClient, type ObjectRef } from './kubeClient.ts';
import { pruneIfOwned } from './prune.ts';

const owner: KubernetesObject = { metadata: { name: 'm', namespace: 'ns', uid: 'owner-uid' } };

function child(ownerUid: string | undefined, extra: Partial<KubernetesObject['metadata']> = {}) {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: {
      name: 'm',
      namespace: 'ns',
      uid: 'child-uid',
      ...(ownerUid
        ? { ownerReferences: [{ apiVersion: 'x/v1', kind: 'K', name: 'm', uid: ownerUid, controller: true }] }
        : {}),
      ...extra,
    },
  } as KubernetesObject;
}

function recorder(fail?: ApiError) {
  const deletes: { ref: ObjectRef; preconditions: unknown }[] = [];
  const client = {
    delete: async (ref: ObjectRef, _policy: string, preconditions: unknown) => {
      deletes.push({ ref, preconditions });
      if (fail) throw fail;
    },
  } as unknown as KubeClient;
  return { client, deletes };
}

describe('pruneIfOwned', () => {
  it.each([
    ['nothing cached', undefined, false],
    ['controlled by the owner', child('owner-uid'), true],
    ['controlled by someone else', child('other-uid'), false],
    ['without owner references', child(undefined), false],
    ['already being deleted', child('owner-uid', { deletionTimestamp: new Date() }), false],
  ])('%s: deletes %s', async (_case, live, deleted) => {
    const { client, deletes } = recorder();
    expect(await pruneIfOwned(client, live, owner)).toBe(deleted);
    expect(deletes).toHaveLength(deleted ? 1 : 0);
  });

  it('deletes only the cached object (uid precondition)', async () => {
    const { client, deletes } = recorder();
    await pruneIfOwned(client, child('owner-uid'), owner);
    expect(deletes[0]).toEqual({
      ref: { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', namespace: 'ns', name: 'm' },
      preconditions: { uid: 'child-uid' },
    });
  });

  it('a replacement made meanwhile (409) is left for the next reconcile', async () => {
    const { client } = recorder(new ApiError(409, 'Conflict', 'uid precondition failed'));
    await expect(pruneIfOwned(client, child('owner-uid'), owner)).resolves.toBe(true);
  });

  it('other errors surface, for a retry with backoff', async () => {
    const { client } = recorder(new ApiError(403, 'Forbidden', 'no'));
    await expect(pruneIfOwned(client, child('owner-uid'), owner)).rejects.toThrow('no');
  });
});
