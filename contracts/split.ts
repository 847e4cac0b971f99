// The live rollout split (KV `prognos-rollouts`, key `<ns>.<model>`) and which runtime handles a
// machine. Each machine id hashes to a bucket in [0,100): the canary takes buckets below its
// weight, the stable the rest, so a machine's window state stays with one version (sticky).
export type Role = 'stable' | 'canary' | 'shadow';

export interface Split {
  stable: { version: string };
  canary?: { version: string; weight: number };
  shadow?: { version: string };
}

/** FNV-1a 32-bit over the UTF-16 code units of the id (ids are ASCII by the reading schema), mod 100. */
export function bucketOf(machineId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < machineId.length; i++) {
    hash ^= machineId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % 100;
}

/**
 * Whether the runtime serving `version` in `role` scores `machineId`. Without a split yet, a stable
 * serves everything and a canary nothing. Stable/canary are matched by version, so a promoted
 * canary keeps serving the stable share before its pods are relabelled.
 */
export function shouldHandle(
  split: Split | undefined,
  version: string,
  role: Role,
  machineId: string,
): boolean {
  if (role === 'shadow') return split === undefined || split.shadow?.version === version;
  if (split === undefined) return role === 'stable';
  const weight = split.canary ? Math.min(100, Math.max(0, split.canary.weight)) : 0;
  if (split.canary?.version === version) return bucketOf(machineId) < weight;
  if (split.stable.version === version) return bucketOf(machineId) >= weight;
  return false;
}

/** Validates a split document (already JSON-parsed, e.g. by the KV watcher); throws naming the offending field. */
export function parseSplit(doc: unknown): Split {
  const isVersion = (v: unknown): v is { version: string } =>
    typeof v === 'object' && v !== null && typeof (v as { version?: unknown }).version === 'string';
  if (typeof doc !== 'object' || doc === null) throw new Error('split must be an object');
  const { stable, canary, shadow } = doc as Record<string, unknown>;
  if (!isVersion(stable)) throw new Error('split.stable.version must be a string');
  const split: Split = { stable: { version: stable.version } };
  if (canary !== undefined && canary !== null) {
    const weight = (canary as { weight?: unknown }).weight;
    if (!isVersion(canary) || typeof weight !== 'number' || !(weight >= 0 && weight <= 100)) {
      throw new Error('split.canary needs a version and a weight in [0, 100]');
    }
    split.canary = { version: canary.version, weight };
  }
  if (shadow !== undefined && shadow !== null) {
    if (!isVersion(shadow)) throw new Error('split.shadow.version must be a string');
    split.shadow = { version: shadow.version };
  }
  return split;
}
