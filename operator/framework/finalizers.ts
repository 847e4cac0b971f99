import type { KubernetesObject } from '@kubernetes/client-node';
import { FIELD_MANAGER } from './apply.ts';
import { isConflict, refOf, type KubeClient } from './kubeClient.ts';

const maxAttempts = 5;

export function hasFinalizer(obj: KubernetesObject, finalizer: string): boolean {
  return obj.metadata?.finalizers?.includes(finalizer) ?? false;
}

/** The merge patch that sets the finalizer list, guarded by resourceVersion (409 if anything changed). */
export function finalizersPatch(obj: KubernetesObject, finalizers: string[]): object {
  return { metadata: { resourceVersion: obj.metadata?.resourceVersion, finalizers } };
}

/**
 * Adds or removes one finalizer without clobbering anyone else's: the full list is written with a
 * merge patch carrying the resourceVersion it was computed from, and on 409 Conflict the object is
 * read again and the change recomputed. Returns the updated object, or undefined if it is gone.
 */
async function changeFinalizers<T extends KubernetesObject>(
  client: KubeClient,
  obj: T,
  finalizer: string,
  want: boolean,
): Promise<T | undefined> {
  let current: T | undefined = obj;
  for (let attempt = 1; current; attempt++) {
    const list = current.metadata?.finalizers ?? [];
    if (list.includes(finalizer) === want) return current;
    // Nothing new may be finalized once deletion started: the API server rejects adding then.
    if (want && current.metadata?.deletionTimestamp) return current;
    const next = want ? [...list, finalizer] : list.filter((f) => f !== finalizer);
    try {
      // Under the operator's field manager, so managedFields show who holds metadata.finalizers.
      return await client.patch<T>(
        refOf(current),
        finalizersPatch(current, next),
        'application/merge-patch+json',
        {
          query: { fieldManager: FIELD_MANAGER },
        },
      );
    } catch (err) {
      if (!isConflict(err) || attempt >= maxAttempts) throw err;
      current = await client.get<T>(refOf(current));
    }
  }
  return undefined;
}

export function addFinalizer<T extends KubernetesObject>(
  client: KubeClient,
  obj: T,
  finalizer: string,
): Promise<T | undefined> {
  return changeFinalizers(client, obj, finalizer, true);
}

export function removeFinalizer<T extends KubernetesObject>(
  client: KubeClient,
  obj: T,
  finalizer: string,
): Promise<T | undefined> {
  return changeFinalizers(client, obj, finalizer, false);
}

export type FinalizerOutcome<T> = { deleting: false; obj: T } | { deleting: true };

/**
 * The finalizer flow for external state. While the object lives, make sure it carries `finalizer`
 * (so deletion waits for us) and return it for the normal reconcile. Once it is being deleted, run
 * `cleanup` (must be idempotent: it may run again after a crash) and then release the object. A
 * failing cleanup throws, keeping the finalizer, and the reconcile is retried with backoff.
 */
export async function reconcileFinalizer<T extends KubernetesObject>(
  client: KubeClient,
  obj: T,
  finalizer: string,
  cleanup: (obj: T) => Promise<void>,
): Promise<FinalizerOutcome<T>> {
  if (obj.metadata?.deletionTimestamp) {
    if (hasFinalizer(obj, finalizer)) {
      await cleanup(obj);
      await removeFinalizer(client, obj, finalizer);
    }
    return { deleting: true };
  }
  const updated = await addFinalizer(client, obj, finalizer);
  return updated ? { deleting: false, obj: updated } : { deleting: true };
}
