import type { KubernetesObject } from '@kubernetes/client-node';
import { isConflict, refOf, type KubeClient } from './kubeClient.ts';

/**
 * Deletes `live` (a cached child) when the intent no longer includes it, but only if `owner`
 * controls it: a same-named object someone else made is never touched. The delete is conditioned on
 * the cached uid, so an object recreated meanwhile survives (409, seen again on the next reconcile).
 * Returns whether a delete was sent.
 */
export async function pruneIfOwned(
  client: KubeClient,
  live: KubernetesObject | undefined,
  owner: KubernetesObject,
): Promise<boolean> {
  const uid = live?.metadata?.uid;
  const controlled = live?.metadata?.ownerReferences?.some(
    (r) => r.controller === true && r.uid === owner.metadata?.uid,
  );
  if (!live || !uid || !controlled || live.metadata?.deletionTimestamp) return false;
  try {
    await client.delete(refOf(live), 'Background', { uid });
  } catch (error) {
    if (!isConflict(error)) throw error;
  }
  return true;
}
