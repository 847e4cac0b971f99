// Which partitions this replica pulls: the replicas of a role announce themselves in a KV bucket
// (a heartbeat per replica), each watches the others and computes the same rendezvous assignment
// (contracts/consumers.ts). The server's pinned_client groups make a handover safe while two
// replicas briefly disagree; this only decides who should pull, so partitions spread over replicas.
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import {
  MEMBER_HEARTBEAT_MS,
  MEMBER_TTL_MS,
  MEMBERS_BUCKET,
  membersPrefix,
  ownedPartitions,
} from '../../../contracts/consumers.ts';
import type { Ownership } from './natsInput.ts';

export interface MembershipOptions {
  nc: NatsConnection;
  namespace: string;
  model: string;
  role: string;
  /** This replica's name among its peers (pod name and pid). */
  member: string;
  /** The role's consumers, in partition order. */
  consumers: readonly string[];
  /** The partitions the rollout split gives this role now (all when omitted); see setAllowed. */
  allowed?: readonly number[];
  logger: Logger;
  now?: () => number;
}

export interface Membership extends Ownership {
  /** Live members as last computed, this one included. */
  members(): string[];
  /**
   * The partitions the rollout split gives this replica's role (contracts/split.ts rolePartitions):
   * the role's members share out only these, and release the others to the other role.
   */
  setAllowed(partitions: readonly number[]): void;
  /** Leaves at once (deletes the heartbeat), so peers take over without waiting for the TTL. */
  stop(): Promise<void>;
}

/** KV keys are subject tokens: anything else in a pod name becomes '-'. */
export function memberToken(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '-');
}

export async function startMembership(opts: MembershipOptions): Promise<Membership> {
  const now = opts.now ?? (() => performance.now());
  const self = memberToken(opts.member);
  const prefix = membersPrefix(opts.namespace, opts.model, opts.role);
  // Stale keys of crashed replicas are cleaned up by the bucket's TTL; liveness is judged locally.
  const kv: KV = await new Kvm(opts.nc).create(MEMBERS_BUCKET, { history: 1, ttl: 10 * MEMBER_TTL_MS });
  const heard = new Map<string, number>();
  const listeners: ((owned: readonly string[]) => void)[] = [];
  let owned: readonly string[] = [];
  let members: string[] = [self];
  let allowed = new Set(opts.allowed ?? opts.consumers.map((_, p) => p));
  let started = false;
  let stopped = false;

  const beat = (): Promise<unknown> =>
    kv.put(`${prefix}.${self}`, String(Date.now())).catch((error: unknown) => {
      opts.logger.warn({ err: error }, 'membership heartbeat failed');
    });
  const recompute = (): void => {
    const t = now();
    for (const [m, at] of heard) if (m !== self && t - at > MEMBER_TTL_MS) heard.delete(m);
    const live = [...new Set([...heard.keys(), self])].sort();
    const next = ownedPartitions(self, live, opts.consumers.length)
      .filter((p) => allowed.has(p))
      .map((p) => opts.consumers[p]!);
    members = live;
    if (next.join() === owned.join()) return;
    owned = next;
    opts.logger.info({ members: live, owned: next.length }, 'partition assignment changed');
    for (const l of listeners) l(owned);
  };

  const watch = await kv.watch({ key: `${prefix}.*` });
  void (async () => {
    for await (const entry of watch) {
      const m = entry.key.slice(prefix.length + 1);
      if (entry.operation === 'PUT') heard.set(m, now());
      else heard.delete(m);
      recompute();
    }
  })().catch((error: unknown) => opts.logger.warn({ err: error }, 'membership watch ended'));

  await beat();
  // Hear from the peers before taking anything: otherwise a new replica would briefly claim all.
  await new Promise((r) => setTimeout(r, MEMBER_HEARTBEAT_MS * 1.5));
  started = true;
  recompute();
  const heartbeat = setInterval(() => void beat(), MEMBER_HEARTBEAT_MS);
  const expiry = setInterval(recompute, MEMBER_HEARTBEAT_MS / 2);

  return {
    current: () => owned,
    onChange: (listener) => void listeners.push(listener),
    members: () => members,
    setAllowed(partitions) {
      allowed = new Set(partitions);
      if (started) recompute();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(heartbeat);
      clearInterval(expiry);
      watch.stop();
      await kv.delete(`${prefix}.${self}`).catch(() => undefined);
    },
  };
}
