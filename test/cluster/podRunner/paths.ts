import type { V1Container } from '@kubernetes/client-node';
import { join } from 'node:path';

/** A container's view of a volume: where it expects it, and where it really is on this machine. */
export interface MountMapping {
  mountPath: string;
  localPath: string;
}

/**
 * Processes run without a mount namespace, so a volume cannot appear at its `mountPath`. Instead
 * every volume is materialised under `<stateDir>/pods/<uid>/volumes/<name>` (a hostPath volume is
 * its own path) and paths are rewritten (see
 * `translatePath`).
 */
export function mountMappings(
  container: V1Container,
  volumePath: (volumeName: string) => string,
): MountMapping[] {
  return (container.volumeMounts ?? []).map((m) => ({
    mountPath: m.mountPath.replace(/\/+$/, '') || '/',
    localPath: join(volumePath(m.name), m.subPath ?? ''),
  }));
}

/**
 * Rewrites a container path to the local directory when it starts with a volumeMount's mountPath
 * (the longest match wins). Applied to every command/arg/env value, and also to the value part of
 * `--flag=/path` and `KEY=/path` forms. A path that is equal to the mountPath, or continues it with a
 * `/`, matches; `/etc/configuration` does not match a mount at `/etc/config`.
 */
export function translatePath(value: string, mounts: readonly MountMapping[]): string {
  const direct = translateWhole(value, mounts);
  if (direct !== undefined) return direct;
  const eq = value.indexOf('=');
  if (eq > 0) {
    const rest = translateWhole(value.slice(eq + 1), mounts);
    if (rest !== undefined) return value.slice(0, eq + 1) + rest;
  }
  return value;
}

function translateWhole(value: string, mounts: readonly MountMapping[]): string | undefined {
  let best: MountMapping | undefined;
  for (const m of mounts) {
    const matches = value === m.mountPath || value.startsWith(m.mountPath === '/' ? '/' : `${m.mountPath}/`);
    if (matches && (best === undefined || m.mountPath.length > best.mountPath.length)) best = m;
  }
  if (best === undefined) return undefined;
  const rest = best.mountPath === '/' ? value.slice(1) : value.slice(best.mountPath.length + 1);
  return rest === '' ? best.localPath : join(best.localPath, rest);
}
