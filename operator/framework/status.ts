import type { KubernetesObject } from '@kubernetes/client-node';
import { applyStatus } from './apply.ts';
import { statusChanged } from './conditions.ts';
import type { KubeClient } from './kubeClient.ts';

type WithStatus = KubernetesObject & { status?: unknown };

/** The status to write: `status` stamped with the generation it describes. */
export function desiredStatus<S extends object>(
  obj: KubernetesObject,
  status: S,
): S & { observedGeneration?: number } {
  return { ...status, observedGeneration: obj.metadata?.generation };
}

/**
 * Writes `status` (plus observedGeneration) to the status subresource only when it differs from
 * what `obj` (the cached object) already has, so a steady state costs no API writes. Returns whether
 * it wrote. `status` must be complete: fields the operator set before and omits now are removed.
 */
export async function updateStatus<S extends object>(
  client: KubeClient,
  obj: WithStatus,
  status: S,
): Promise<boolean> {
  const next = desiredStatus(obj, status);
  if (!statusChanged(obj.status, next)) return false;
  const { apiVersion, kind, metadata } = obj;
  await applyStatus(client, {
    apiVersion,
    kind,
    metadata: { name: metadata?.name, namespace: metadata?.namespace },
    status: next,
  });
  return true;
}
