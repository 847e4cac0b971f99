import type { KubernetesObject } from '@kubernetes/client-node';
import { refOf, type KubeClient } from './kubeClient.ts';
import { needsApply, withIntentHash } from './needsApply.ts';

/** The one field manager for everything the operator writes: its ownership is one set of fields. */
export const FIELD_MANAGER = 'prognos-operator';

const applyQuery = { fieldManager: FIELD_MANAGER, force: true };

/**
 * Server-side apply: `obj` is the operator's full intent for the fields it manages. Fields it applied
 * before and omits now are removed; fields others manage are left alone; conflicts are forced, since
 * the operator is the authority on what it owns. Re-applying an unchanged intent is a no-op on the
 * server (the resourceVersion stays), but it is still a write request that costs the API server:
 * controllers that cache the object use `applyIfNeeded`.
 */
export function apply<T extends KubernetesObject>(client: KubeClient, obj: T): Promise<T> {
  // JSON is YAML: the apply-patch+yaml content type takes it as is.
  return client.patch<T>(refOf(obj), obj, 'application/apply-patch+yaml', { query: applyQuery });
}

/** Server-side apply of the status subresource: `obj` carries apiVersion, kind, metadata.name/namespace and status. */
export function applyStatus<T extends KubernetesObject>(client: KubeClient, obj: T): Promise<T> {
  return client.patch<T>(refOf(obj), obj, 'application/apply-patch+yaml', {
    subresource: 'status',
    query: applyQuery,
  });
}

/**
 * Applies `desired` (stamped with its intent digest) only when the cached `live` object lacks it: missing,
 * some desired field differs or is absent (drift: an edited or deleted child is put back), or the intent
 * changed (its digest). Otherwise returns `live` and writes nothing, so a reconcile woken by a child's
 * status change costs no request. `applied` tells which happened.
 */
export async function applyIfNeeded<T extends KubernetesObject>(
  client: KubeClient,
  desired: T,
  live: T | undefined,
): Promise<{ obj: T; applied: boolean }> {
  const intent = withIntentHash(desired);
  if (live && !needsApply(intent, live)) return { obj: live, applied: false };
  return { obj: await apply(client, intent), applied: true };
}
