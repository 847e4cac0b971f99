import type { KubernetesObject } from '@kubernetes/client-node';

/** Identifies a kind: `apiVersion` is `group/version`, or just `version` for the core group. */
export interface GroupVersionKind {
  apiVersion: string;
  kind: string;
}

/** What discovery tells us about a kind: its URL segment and whether it lives in a namespace. */
export interface ResourceInfo extends GroupVersionKind {
  plural: string;
  namespaced: boolean;
}

/** The group of an apiVersion; '' for the core group ("v1"). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** A stable map key for a kind, e.g. "apps/v1/Deployment". */
export function gvkKey(gvk: GroupVersionKind): string {
  return `${gvk.apiVersion}/${gvk.kind}`;
}

/** Same kind regardless of version: ownerReferences may name another served version of the owner. */
export function sameGroupKind(a: GroupVersionKind, b: GroupVersionKind): boolean {
  return a.kind === b.kind && groupOf(a.apiVersion) === groupOf(b.apiVersion);
}

/** The cache and work-queue key: "namespace/name", or "name" for cluster-scoped objects (as client-go). */
export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export function keyOf(obj: KubernetesObject): string {
  return objectKey(obj.metadata?.namespace, obj.metadata?.name ?? '');
}

export function splitKey(key: string): { namespace?: string; name: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

export function apiRoot(apiVersion: string): string {
  return groupOf(apiVersion) === '' ? `/api/${apiVersion}` : `/apis/${apiVersion}`;
}

/** Path of a collection; cluster-wide when the kind is namespaced but no namespace is given. */
export function collectionPath(res: ResourceInfo, namespace?: string): string {
  const ns = res.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${apiRoot(res.apiVersion)}${ns}/${res.plural}`;
}

export function objectPath(
  res: ResourceInfo,
  namespace: string | undefined,
  name: string,
  subresource?: string,
): string {
  if (res.namespaced && !namespace)
    throw new Error(`${res.kind} ${name} is namespaced: a namespace is required`);
  const sub = subresource ? `/${subresource}` : '';
  return `${collectionPath(res, namespace)}/${encodeURIComponent(name)}${sub}`;
}
