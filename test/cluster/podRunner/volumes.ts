import type { V1KeyToPath, V1Pod, V1Volume } from '@kubernetes/client-node';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ReferencedData } from './env.ts';
import {
  fieldRefValue,
  resourceFieldRefValue,
  type NodeAllocatable,
  type PodAddresses,
} from './fieldRefs.ts';

/** A file of a materialised volume: path relative to the volume root, bytes and permission bits. */
export interface VolumeFile {
  path: string;
  content: Buffer;
  mode: number;
}

/**
 * What a volume holds: files computed from the API (configMap, secret, downwardAPI, projected), an
 * empty writable directory (emptyDir), or a directory on this machine (hostPath).
 */
export type VolumeContent =
  | { kind: 'files'; files: VolumeFile[] }
  | { kind: 'emptyDir' }
  | { kind: 'hostPath'; path: string }
  | { kind: 'error'; message: string };

/** Computes a volume's content from pre-fetched data. Pure, so kubelet's projection rules are table-testable. */
export function volumeContent(
  pod: V1Pod,
  volume: V1Volume,
  data: ReferencedData,
  addr: PodAddresses,
  allocatable: NodeAllocatable,
): VolumeContent {
  if (volume.emptyDir) return { kind: 'emptyDir' };
  if (volume.hostPath) return { kind: 'hostPath', path: volume.hostPath.path };
  const files: VolumeFile[] = [];
  const add = (r: VolumeFile[] | Error): Error | undefined => {
    if (r instanceof Error) return r;
    files.push(...r);
    return undefined;
  };
  let err: Error | undefined;
  if (volume.configMap) {
    const cm = volume.configMap;
    err = add(
      keyFiles(
        'configmap',
        cm.name ?? '',
        data.configMaps.get(cm.name ?? ''),
        cm.items,
        cm.optional,
        cm.defaultMode,
        false,
      ),
    );
  } else if (volume.secret) {
    const s = volume.secret;
    err = add(
      keyFiles(
        'secret',
        s.secretName ?? '',
        data.secrets.get(s.secretName ?? ''),
        s.items,
        s.optional,
        s.defaultMode,
        true,
      ),
    );
  } else if (volume.downwardAPI) {
    err = add(
      downwardFiles(pod, volume.downwardAPI.items ?? [], volume.downwardAPI.defaultMode, addr, allocatable),
    );
  } else if (volume.projected) {
    const mode = volume.projected.defaultMode;
    for (const s of volume.projected.sources ?? []) {
      if (s.configMap) {
        err = add(
          keyFiles(
            'configmap',
            s.configMap.name ?? '',
            data.configMaps.get(s.configMap.name ?? ''),
            s.configMap.items,
            s.configMap.optional,
            mode,
            false,
          ),
        );
      } else if (s.secret) {
        err = add(
          keyFiles(
            'secret',
            s.secret.name ?? '',
            data.secrets.get(s.secret.name ?? ''),
            s.secret.items,
            s.secret.optional,
            mode,
            true,
          ),
        );
      } else if (s.downwardAPI) {
        err = add(downwardFiles(pod, s.downwardAPI.items ?? [], mode, addr, allocatable));
      } else if (s.serviceAccountToken) {
        const token = data.tokens.get(s.serviceAccountToken.audience ?? '');
        err =
          token === undefined
            ? new Error(`no service account token for audience "${s.serviceAccountToken.audience ?? ''}"`)
            : add([{ path: s.serviceAccountToken.path, content: Buffer.from(token), mode: mode ?? 0o644 }]);
      } else {
        err = new Error('unsupported projected volume source');
      }
      if (err) break;
    }
  } else {
    err = new Error(
      'unsupported volume type (supported: configMap, secret, emptyDir, downwardAPI, projected, hostPath)',
    );
  }
  return err
    ? { kind: 'error', message: `volume "${volume.name}": ${err.message}` }
    : { kind: 'files', files };
}

function keyFiles(
  kind: 'configmap' | 'secret',
  name: string,
  values: Readonly<Record<string, string>> | undefined,
  items: readonly V1KeyToPath[] | undefined,
  optional: boolean | undefined,
  defaultMode: number | undefined,
  base64: boolean,
): VolumeFile[] | Error {
  if (values === undefined) return optional ? [] : new Error(`${kind} "${name}" not found`);
  const bytes = (v: string): Buffer => (base64 ? Buffer.from(v, 'base64') : Buffer.from(v, 'utf8'));
  const mode = defaultMode ?? 0o644;
  if (!items || items.length === 0) {
    return Object.entries(values).map(([k, v]) => ({ path: k, content: bytes(v), mode }));
  }
  const files: VolumeFile[] = [];
  for (const item of items) {
    const v = values[item.key];
    if (v === undefined) {
      if (optional) continue;
      return new Error(`configured key ${item.key} not found in ${kind} "${name}"`);
    }
    files.push({ path: item.path, content: bytes(v), mode: item.mode ?? mode });
  }
  return files;
}

function downwardFiles(
  pod: V1Pod,
  items: NonNullable<NonNullable<V1Volume['downwardAPI']>['items']>,
  defaultMode: number | undefined,
  addr: PodAddresses,
  allocatable: NodeAllocatable,
): VolumeFile[] | Error {
  const files: VolumeFile[] = [];
  for (const item of items) {
    const value = item.fieldRef
      ? fieldRefValue(pod, item.fieldRef.fieldPath, addr)
      : item.resourceFieldRef
        ? resourceFieldRefValue(pod.spec?.containers ?? [], '', item.resourceFieldRef, allocatable)
        : new Error(`downwardAPI item ${item.path} has neither fieldRef nor resourceFieldRef`);
    if (value instanceof Error) return value;
    files.push({ path: item.path, content: Buffer.from(value), mode: item.mode ?? defaultMode ?? 0o644 });
  }
  return files;
}

/**
 * Writes files into `dir` so readers never see a half-written file (write, then rename), and removes
 * files the volume no longer holds. Returns whether anything changed.
 */
export function writeVolume(dir: string, files: readonly VolumeFile[]): boolean {
  mkdirSync(dir, { recursive: true });
  let changed = false;
  const wanted = new Set(files.map((f) => f.path));
  for (const f of files) {
    const target = join(dir, f.path);
    if (!target.startsWith(dir + '/')) continue;
    if (sameContent(target, f.content)) continue;
    mkdirSync(dirname(target), { recursive: true });
    const tmp = `${target}.tmp-${process.pid}`;
    writeFileSync(tmp, f.content, { mode: f.mode });
    renameSync(tmp, target);
    changed = true;
  }
  for (const existing of listFiles(dir, '')) {
    if (!wanted.has(existing)) {
      rmSync(join(dir, existing), { force: true });
      changed = true;
    }
  }
  return changed;
}

function sameContent(path: string, content: Buffer): boolean {
  try {
    return statSync(path).size === content.length && readFileSync(path).equals(content);
  } catch {
    return false;
  }
}

function listFiles(root: string, rel: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(root, p));
    else out.push(p);
  }
  return out;
}
