// The JetStream consumers of a model role, as the operator creates them and the runtimes bind them:
// one per partition of the fleet's stream, each a pinned_client priority group, so at any moment one
// replica of the role receives a partition's readings (nats-server ≥ 2.11 enforces it). Which replica
// pulls which partition is agreed among the replicas by rendezvous hashing over the live members of a
// KV bucket; the pin makes a handover safe even while two replicas briefly disagree.

/** The priority group every role consumer has; runtimes pull with it. */
export const OWNER_GROUP = 'owner';

/**
 * How long a pinned replica may stop pulling before the server gives its partition to another puller:
 * the failover bound for a replica that died without releasing (SIGKILL, node loss).
 */
export const PIN_TIMEOUT_MS = 5_000;

/** KV bucket of the replicas' heartbeats (key `<namespace>.<model>.<role>.<member>`). */
export const MEMBERS_BUCKET = 'prognos-members';
/** A replica refreshes its entry this often... */
export const MEMBER_HEARTBEAT_MS = 1_000;
/** ...and is taken for gone when not heard from for this long (or at once when it deletes its entry). */
export const MEMBER_TTL_MS = 3_000;

/** Consumer metadata naming the model and role a consumer belongs to (what the operator deletes). */
export const MODEL_METADATA_KEY = 'prognos.dev/model';
export const ROLE_METADATA_KEY = 'prognos.dev/role';

/**
 * The consumer of `partition` (0-based). An unpartitioned stream keeps the single consumer name
 * models had before partitions, so an upgrade continues from the same position.
 */
export function consumerName(model: string, role: string, partition: number, partitions: number): string {
  return partitions <= 1 ? `prognos-${model}-${role}` : `prognos-${model}-${role}-p${partition}`;
}

/** The KV key prefix of a role's members (`.` separated, NATS subject tokens). */
export function membersPrefix(namespace: string, model: string, role: string): string {
  return `${namespace}.${model}.${role}`;
}

/** FNV-1a then a final avalanche (murmur3's fmix32): a well-spread 32-bit hash of a string. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Rendezvous (highest random weight) hashing: each partition goes to the member with the highest
 * hash of (member, partition). Every replica computes the same answer from the same member list, and
 * a member joining or leaving moves only the partitions it gains or had.
 */
export function ownerOf(partition: number, members: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = -1;
  for (const m of members) {
    const score = hash32(`${m}/${partition}`);
    if (score > bestScore || (score === bestScore && best !== undefined && m < best)) {
      best = m;
      bestScore = score;
    }
  }
  return best;
}

/** The partitions `member` should pull, given the live members (itself included). */
export function ownedPartitions(member: string, members: readonly string[], partitions: number): number[] {
  const all = members.includes(member) ? members : [...members, member];
  return Array.from({ length: partitions }, (_, p) => p).filter((p) => ownerOf(p, all) === member);
}
