import type { KubernetesObject } from '@kubernetes/client-node';
import { objectKey, sameGroupKind, type GroupVersionKind } from './gvk.ts';

/**
 * The work-queue key of the object that controls `obj`: its ownerReference with controller=true,
 * if that reference is of `ownerKind` (any version of its group). A namespaced owner lives in the
 * namespace of its dependents; a cluster-scoped owner is keyed by name alone.
 */
export function controllerOwnerKey(
  obj: KubernetesObject,
  ownerKind: GroupVersionKind,
  ownerNamespaced: boolean,
): string | undefined {
  const ref = obj.metadata?.ownerReferences?.find((r) => r.controller === true);
  if (!ref || !sameGroupKind(ref, ownerKind)) return undefined;
  return objectKey(ownerNamespaced ? obj.metadata?.namespace : undefined, ref.name);
}

/** An ownerReference that makes `owner` the controller of a dependent (for apply and the GC). */
export function controllerReference(owner: KubernetesObject): {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller: true;
  blockOwnerDeletion: true;
} {
  const { apiVersion, kind, metadata } = owner;
  if (!apiVersion || !kind || !metadata?.name || !metadata.uid) {
    throw new Error('an owner needs apiVersion, kind, metadata.name and metadata.uid');
  }
  return {
    apiVersion,
    kind,
    name: metadata.name,
    uid: metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}
