// Each machine's alert state (severity and since when) in a NATS KV bucket, key
// `<namespace>.<model>.<machine>`, so hysteresis state outlives the replica that computed it: a
// restarted replica, or one a partition moved to, starts from the state the previous one left
// instead of `ok`, so it neither fires the alert again nor misses its resolution.
//
// Written on every transition (ok included) and refreshed while the
// alert is active, so the bucket's TTL only removes alerts nobody holds any more. File storage: the
// write rate is that of transitions and refreshes of active alerts, not of readings, and the state
// should survive a nats-server restart too (the machine-health cache rebuilds itself; this does not).
//
// Every replica of the model watches the model's keys: the initial values seed its pipeline before
// it takes a reading, and a write by another replica (which took a machine over) replaces its own.
import { KvWatchInclude, Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { AlertSeverity } from './machineAlert.ts';
import type { Severity } from '../decision/severity.ts';

export interface StoredAlertState {
  severity: Severity;
  /** When the machine entered this severity (reading time), epoch ms. */
  since: number;
  /** Which replica wrote it (pod name, pid and a random suffix). */
  writer: string;
  updatedAt: number;
}

export interface AlertStateStore {
  /** The active (not ok) states held when the store opened, by machine. */
  readonly initial: ReadonlyMap<string, StoredAlertState>;
  /**
   * Hands writes of other replicas to `handler` (severity ok: resolved), first those that arrived
   * since the store opened: applied after `initial`, they are never lost nor applied out of order.
   */
  follow(handler: (machineId: string, state: StoredAlertState) => void): void;
  /** Records a machine's state; null when it is ok again. Not awaited: failures are logged. */
  write(machineId: string, state: { severity: AlertSeverity; since: number } | null): void;
  stop(): void;
}

export interface AlertStateStoreOptions {
  nc: NatsConnection;
  bucket: string;
  namespace: string;
  model: string;
  writer: string;
  ttlMs: number;
  logger: Logger;
  now?: () => number;
}

/** Initial values are read this many keys at a time. */
const READ_CONCURRENCY = 64;

/** A stored state, or undefined for anything that is not one (a foreign or corrupt value is skipped). */
export function parseStoredState(text: string): StoredAlertState | undefined {
  try {
    const v = JSON.parse(text) as Partial<StoredAlertState>;
    const severities = ['ok', 'warning', 'critical'];
    return typeof v === 'object' &&
      v !== null &&
      severities.includes(v.severity as string) &&
      typeof v.since === 'number' &&
      typeof v.writer === 'string'
      ? { severity: v.severity!, since: v.since, writer: v.writer, updatedAt: Number(v.updatedAt) || 0 }
      : undefined;
  } catch {
    return undefined;
  }
}

export async function openAlertStateStore(opts: AlertStateStoreOptions): Promise<AlertStateStore> {
  const now = opts.now ?? Date.now;
  const kv: KV = await new Kvm(opts.nc).create(opts.bucket, { history: 1, storage: 'file', ttl: opts.ttlMs });
  const prefix = `${opts.namespace}.${opts.model}.`;
  const initial = new Map<string, StoredAlertState>();
  // Updates from now on first, then the values already there: a write between the two is seen twice
  // (harmless), never missed.
  let handler: ((machineId: string, state: StoredAlertState) => void) | undefined;
  const early: [string, StoredAlertState][] = [];
  const watch = await kv.watch({ key: `${prefix}>`, include: KvWatchInclude.UpdatesOnly });
  void (async () => {
    for await (const entry of watch) {
      if (entry.operation !== 'PUT' || entry.length === 0) continue;
      const state = parseStoredState(entry.string());
      if (!state || state.writer === opts.writer) continue;
      const machineId = entry.key.slice(prefix.length);
      if (handler) handler(machineId, state);
      else early.push([machineId, state]);
    }
  })().catch((error: unknown) => opts.logger.warn({ err: error }, 'alert state watch ended'));
  const keys: string[] = [];
  for await (const key of await kv.keys(`${prefix}>`)) keys.push(key);
  for (let i = 0; i < keys.length; i += READ_CONCURRENCY) {
    const entries = await Promise.all(keys.slice(i, i + READ_CONCURRENCY).map((k) => kv.get(k)));
    for (const entry of entries) {
      if (!entry || entry.operation !== 'PUT' || entry.length === 0) continue;
      const state = parseStoredState(entry.string());
      if (state && state.severity !== 'ok') initial.set(entry.key.slice(prefix.length), state);
    }
  }
  return {
    initial,
    follow(next) {
      for (const [machineId, state] of early.splice(0)) next(machineId, state);
      handler = next;
    },
    write(machineId, state) {
      const key = prefix + machineId;
      // ok is written, not deleted: a delete marker names no writer, so a replica could not tell its
      // own resolution (already applied) from another's.
      const value: StoredAlertState = {
        ...(state ?? { severity: 'ok', since: now() }),
        writer: opts.writer,
        updatedAt: now(),
      };
      kv.put(key, JSON.stringify(value)).catch((error: unknown) =>
        opts.logger.warn({ err: error, machineId }, 'alert state write failed'),
      );
    },
    stop() {
      watch.stop();
    },
  };
}
