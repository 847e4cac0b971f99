import type { V1Container, V1Pod, V1ResourceFieldSelector } from '@kubernetes/client-node';
import { parseQuantity } from '../../../operator/framework/quantity.ts';

/** Addresses the pod runner assigned, which the pod object may not carry yet. */
export interface PodAddresses {
  podIP: string;
  hostIP: string;
}

/** Node allocatable, the fallback for a resourceFieldRef on a limit the container did not set. */
export interface NodeAllocatable {
  cpu: number;
  memory: number;
  'ephemeral-storage': number;
}

/** The value of a downward API `fieldRef` (env or volume), or an Error for an unsupported path. */
export function fieldRefValue(pod: V1Pod, fieldPath: string, addr: PodAddresses): string | Error {
  const md = pod.metadata ?? {};
  const keyed = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (keyed) {
    const map = keyed[1] === 'labels' ? md.labels : md.annotations;
    return map?.[keyed[2]!] ?? '';
  }
  switch (fieldPath) {
    case 'metadata.name':
      return md.name ?? '';
    case 'metadata.namespace':
      return md.namespace ?? '';
    case 'metadata.uid':
      return md.uid ?? '';
    case 'metadata.labels':
      return formatMap(md.labels);
    case 'metadata.annotations':
      return formatMap(md.annotations);
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.podIP':
    case 'status.podIPs':
      return addr.podIP;
    case 'status.hostIP':
    case 'status.hostIPs':
      return addr.hostIP;
    default:
      return new Error(`unsupported fieldRef ${fieldPath}`);
  }
}

/** The kubelet's `key="value"` lines, sorted by key, used for whole label/annotation maps. */
export function formatMap(map: Readonly<Record<string, string>> | undefined): string {
  return Object.keys(map ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(map![k])}`)
    .join('\n');
}

/** The value of a `resourceFieldRef`: ceil(quantity / divisor); unset limits fall back to node allocatable. */
export function resourceFieldRefValue(
  containers: readonly V1Container[],
  defaultContainer: string,
  ref: V1ResourceFieldSelector,
  allocatable: NodeAllocatable,
): string | Error {
  const name = ref.containerName || defaultContainer;
  const container = containers.find((c) => c.name === name);
  if (!container) return new Error(`resourceFieldRef names unknown container "${name}"`);
  const m = /^(limits|requests)\.(cpu|memory|ephemeral-storage)$/.exec(ref.resource);
  if (!m) return new Error(`unsupported resourceFieldRef ${ref.resource}`);
  const kind = m[1] as 'limits' | 'requests';
  const resource = m[2] as keyof NodeAllocatable;
  // Like the kubelet: an unset request defaults to the limit, an unset limit to node allocatable.
  const limit = container.resources?.limits?.[resource];
  const request = container.resources?.requests?.[resource] ?? limit;
  const set = kind === 'limits' ? limit : request;
  const value = set !== undefined ? parseQuantity(set) : kind === 'limits' ? allocatable[resource] : 0;
  const divisor = ref.divisor !== undefined ? parseQuantity(ref.divisor) : 1;
  if (divisor <= 0) return new Error(`resourceFieldRef divisor must be positive`);
  // Rounding guards against 0.1 + 0.2 style noise before taking the ceiling.
  return String(Math.ceil(Math.round((value / divisor) * 1e9) / 1e9));
}
