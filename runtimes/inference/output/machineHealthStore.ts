// Shared latest health per machine, in a NATS KV bucket (key `<namespace>.<model>.<machine>`), so
// GetMachineHealth answers on any replica whichever replica scored the machine. A machine's entry is
// written at once when its severity changes (or a new machine is not ok); refreshes of an unchanged
// state happen at most once per `minIntervalMs` per machine and, across machines, within a budget of
// `maxRefreshesPerSecond`, so a replica serving 100k machines does not turn into a KV write storm.
//
// Writes are plain publishes to the bucket's subject rather than kv.put(): put() waits for a
// JetStream ack per entry, which the scoring path must not do. A lost write is harmless (the next
// one supersedes it), and the bucket uses memory storage for the same reason: it is a cache that
// rebuilds itself within one interval.
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { writeNeed, type LastWrite } from '../decision/healthThrottle.ts';

export { writeNeed } from '../decision/healthThrottle.ts';

export interface MachineHealthState {
  machineId: string;
  severity: 'ok' | 'warning' | 'critical';
  healthScore: number;
  score: number;
  rul?: number;
  modelVersion: string;
  role: 'stable' | 'canary' | 'shadow';
  /** Time of the reading, epoch ms. */
  ts: number;
  /** When it was written, epoch ms. */
  updatedAt: number;
}

export interface MachineHealthStore {
  /** Records the latest state; writes it only on a severity change or when the last write is older than the interval. */
  update(state: MachineHealthState): void;
  get(machineId: string): Promise<MachineHealthState | null>;
  stop(): void;
}

export interface MachineHealthStoreOptions {
  nc: NatsConnection;
  bucket: string;
  namespace: string;
  model: string;
  minIntervalMs: number;
  /** Budget for writes that are not severity changes (refreshes and first sightings of ok machines). */
  maxRefreshesPerSecond: number;
  /** Entries expire from the bucket after this long without a write. */
  ttlMs: number;
  now?: () => number;
}

export async function openMachineHealthStore(opts: MachineHealthStoreOptions): Promise<MachineHealthStore> {
  const now = opts.now ?? Date.now;
  // create() binds when the bucket exists (whoever made it), and makes it otherwise.
  const kv: KV = await new Kvm(opts.nc).create(opts.bucket, {
    history: 1,
    storage: 'memory',
    ttl: opts.ttlMs,
  });
  const keyOf = (machineId: string): string => `${opts.namespace}.${opts.model}.${machineId}`;
  const subjectPrefix = `$KV.${opts.bucket}.`;
  const last = new Map<string, LastWrite>();
  const encoder = new TextEncoder();
  let tokens = opts.maxRefreshesPerSecond;
  let refilledAt = now();

  // Forget throttle state of machines not written for a TTL, so the map stays bounded by live machines.
  const pruner = setInterval(
    () => {
      const cutoff = now() - opts.ttlMs;
      for (const [id, w] of last) if (w.at < cutoff) last.delete(id);
    },
    Math.min(opts.ttlMs, 60_000),
  );
  pruner.unref();

  return {
    update(state) {
      const t = now();
      const need = writeNeed(last.get(state.machineId), state.severity, t, opts.minIntervalMs);
      if (need === 'none') return;
      if (need === 'refresh') {
        // Token bucket: refills continuously, holds at most one second of budget.
        const refill = ((t - refilledAt) * opts.maxRefreshesPerSecond) / 1000;
        tokens = Math.min(opts.maxRefreshesPerSecond, tokens + refill);
        refilledAt = t;
        if (tokens < 1) return;
        tokens -= 1;
      }
      last.set(state.machineId, { at: t, severity: state.severity });
      opts.nc.publish(
        subjectPrefix + keyOf(state.machineId),
        encoder.encode(JSON.stringify({ ...state, updatedAt: t })),
      );
    },
    async get(machineId) {
      const entry = await kv.get(keyOf(machineId));
      if (!entry || entry.operation !== 'PUT' || entry.length === 0) return null;
      return entry.json<MachineHealthState>();
    },
    stop() {
      clearInterval(pruner);
    },
  };
}
