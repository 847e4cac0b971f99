// The live rollout split (KV `prognos-rollouts`, key `<ns>.<model>`) and which runtime handles a
// machine. On a partitioned JetStream stream the split hands whole partitions to a role: the canary
// pulls the first `canary.partitions` of the model's partition consumers and the stable the rest, so
// each reading is delivered to one version only and a machine stays with one version (sticky). The
// consumers are the partitions' cursors, shared by the versions: a partition changing hands continues
// where the other version acked. Elsewhere (core NATS, one partition) each machine id hashes to a
// bucket in [0,100): the canary takes buckets below its weight and the stable the rest, and every
// role decodes every reading.
export type Role = 'stable' | 'canary' | 'shadow';

export interface Split {
  stable: { version: string };
  /** `partitions`: the canary pulls partitions [0, partitions); absent, machines split by bucket. */
  canary?: { version: string; weight: number; partitions?: number };
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
 * serves everything and a canary nothing. A role serves its share only while the split names its
 * version for that role: a stable pod already rolled to the new version during a promotion scores
 * nothing until the split makes that version the stable.
 */
export function shouldHandle(
  split: Split | undefined,
  version: string,
  role: Role,
  machineId: string,
): boolean {
  if (role === 'shadow') return split === undefined || split.shadow?.version === version;
  if (split === undefined) return role === 'stable';
  // Partitions were handed out by role: what this runtime receives is its share.
  if (split.canary?.partitions !== undefined) return true;
  const weight = split.canary ? Math.min(100, Math.max(0, split.canary.weight)) : 0;
  if (role === 'canary') return split.canary?.version === version && bucketOf(machineId) < weight;
  return split.stable.version === version && bucketOf(machineId) >= weight;
}

/**
 * The partitions (0-based) a role pulls under `split`, out of `partitions`. Without a split the
 * stable pulls all and a canary none; a shadow has consumers of its own and pulls all of them.
 */
export function rolePartitions(split: Split | null | undefined, role: Role, partitions: number): number[] {
  const all = Array.from({ length: partitions }, (_, p) => p);
  if (role === 'shadow') return all;
  const canary = split?.canary?.partitions;
  if (canary === undefined) return role === 'stable' ? all : [];
  return all.filter((p) => (role === 'canary') === p < canary);
}

/**
 * How many of `partitions` a canary at `weight` percent takes: the nearest whole partition, at least
 * one while the weight is above 0 and all but one while it is below 100.
 */
export function canaryPartitionCount(weight: number, partitions: number): number {
  if (weight <= 0) return 0;
  if (weight >= 100) return partitions;
  return Math.min(partitions - 1, Math.max(1, Math.round((weight * partitions) / 100)));
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
    const partitions = (canary as { partitions?: unknown }).partitions;
    if (partitions !== undefined && !(Number.isInteger(partitions) && (partitions as number) >= 0))
      throw new Error('split.canary.partitions must be a non-negative integer');
    split.canary = {
      version: canary.version,
      weight,
      ...(partitions !== undefined ? { partitions: partitions as number } : {}),
    };
  }
  if (shadow !== undefined && shadow !== null) {
    if (!isVersion(shadow)) throw new Error('split.shadow.version must be a string');
    split.shadow = { version: shadow.version };
  }
  return split;
}
