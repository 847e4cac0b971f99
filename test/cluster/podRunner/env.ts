import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { expandVars } from './expand.ts';
import {
  fieldRefValue,
  resourceFieldRefValue,
  type NodeAllocatable,
  type PodAddresses,
} from './fieldRefs.ts';

/**
 * ConfigMaps and Secrets of the pod's namespace, fetched beforehand (I/O stays out of this file).
 * `undefined` means the object does not exist. Secret values stay base64 as the API serves them, so
 * binary keys survive into volumes; env decodes them as UTF-8.
 */
export interface ReferencedData {
  configMaps: ReadonlyMap<string, Readonly<Record<string, string>> | undefined>;
  secrets: ReadonlyMap<string, Readonly<Record<string, string>> | undefined>;
  /** Service account tokens by audience ('' = the API server's), for projected token volumes. */
  tokens: ReadonlyMap<string, string>;
}

export type EnvResolution = { ok: true; env: Map<string, string> } | { ok: false; message: string };

const validEnvName = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/**
 * The container's environment as the kubelet builds it: `envFrom` sources in order, then `env`
 * (later entries win), each `env` value $(VAR)-expanded against the variables defined before it.
 * A missing non-optional ConfigMap/Secret (or key) is a CreateContainerConfigError, as in kubelet.
 */
export function resolveEnv(
  pod: V1Pod,
  container: V1Container,
  addr: PodAddresses,
  allocatable: NodeAllocatable,
  data: ReferencedData,
): EnvResolution {
  const env = new Map<string, string>();
  for (const source of container.envFrom ?? []) {
    const ref = source.configMapRef ?? source.secretRef;
    if (!ref?.name) continue;
    const kind = source.configMapRef ? 'configmap' : 'secret';
    const values = (source.configMapRef ? data.configMaps : data.secrets).get(ref.name);
    if (values === undefined) {
      if (ref.optional) continue;
      return { ok: false, message: `${kind} "${ref.name}" not found` };
    }
    for (const [k, v] of Object.entries(values)) {
      const name = (source.prefix ?? '') + k;
      if (validEnvName.test(name)) env.set(name, source.secretRef ? decode(v) : v);
    }
  }
  for (const e of container.env ?? []) {
    if (e.valueFrom === undefined) {
      env.set(e.name, expandVars(e.value ?? '', env));
      continue;
    }
    const value = valueFrom(pod, container, e.valueFrom, addr, allocatable, data);
    if (value instanceof Error) return { ok: false, message: `env ${e.name}: ${value.message}` };
    if (value !== undefined) env.set(e.name, value);
  }
  return { ok: true, env };
}

function valueFrom(
  pod: V1Pod,
  container: V1Container,
  from: NonNullable<NonNullable<V1Container['env']>[number]['valueFrom']>,
  addr: PodAddresses,
  allocatable: NodeAllocatable,
  data: ReferencedData,
): string | undefined | Error {
  if (from.fieldRef) return fieldRefValue(pod, from.fieldRef.fieldPath, addr);
  if (from.resourceFieldRef) {
    return resourceFieldRefValue(
      pod.spec?.containers ?? [],
      container.name,
      from.resourceFieldRef,
      allocatable,
    );
  }
  const keyRef = from.configMapKeyRef ?? from.secretKeyRef;
  if (keyRef) {
    const kind = from.configMapKeyRef ? 'configmap' : 'secret';
    const values = (from.configMapKeyRef ? data.configMaps : data.secrets).get(keyRef.name ?? '');
    const value = values?.[keyRef.key];
    if (value !== undefined) return from.secretKeyRef ? decode(value) : value;
    if (keyRef.optional) return undefined;
    return new Error(
      values === undefined
        ? `${kind} "${keyRef.name}" not found`
        : `couldn't find key ${keyRef.key} in ${kind} "${keyRef.name}"`,
    );
  }
  return new Error('unsupported valueFrom');
}

/** Names of the ConfigMaps and Secrets the pod's env and volumes read. */
export function referencedObjects(pod: V1Pod): { configMaps: Set<string>; secrets: Set<string> } {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  for (const c of pod.spec?.containers ?? []) {
    for (const s of c.envFrom ?? []) {
      if (s.configMapRef?.name) configMaps.add(s.configMapRef.name);
      if (s.secretRef?.name) secrets.add(s.secretRef.name);
    }
    for (const e of c.env ?? []) {
      if (e.valueFrom?.configMapKeyRef?.name) configMaps.add(e.valueFrom.configMapKeyRef.name);
      if (e.valueFrom?.secretKeyRef?.name) secrets.add(e.valueFrom.secretKeyRef.name);
    }
  }
  for (const v of pod.spec?.volumes ?? []) {
    if (v.configMap?.name) configMaps.add(v.configMap.name);
    if (v.secret?.secretName) secrets.add(v.secret.secretName);
    for (const s of v.projected?.sources ?? []) {
      if (s.configMap?.name) configMaps.add(s.configMap.name);
      if (s.secret?.name) secrets.add(s.secret.name);
    }
  }
  return { configMaps, secrets };
}

function decode(base64: string): string {
  return Buffer.from(base64, 'base64').toString('utf8');
}
