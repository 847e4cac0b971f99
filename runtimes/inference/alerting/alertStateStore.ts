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
  /** Another replica wrote a machine's state (severity ok: resolved). */
  onForeign(machineId: string, state: StoredAlertState): void;
  logger: Logger;
  now?: () => number;
}

export async function openAlertStateStore(opts: AlertStateStoreOptions): Promise<AlertStateStore> {
  const now = opts.now ?? Date.now;
  const kv: KV = await new Kvm(opts.nc).create(opts.bucket, { history: 1, storage: 'file', ttl: opts.ttlMs });
  const prefix = `${opts.namespace}.${opts.model}.`;
  const initial = new Map<string, StoredAlertState>();
  // Updates from now on first, then the values already there: a write between the two is seen twice
  // (harmless), never missed.
  const watch = await kv.watch({ key: `${prefix}>`, include: KvWatchInclude.UpdatesOnly });
  void (async () => {
    for await (const entry of watch) {
      if (entry.operation !== 'PUT' || entry.length === 0) continue;
      const state = entry.json<StoredAlertState>();
      if (state.writer !== opts.writer) opts.onForeign(entry.key.slice(prefix.length), state);
    }
  })().catch((error: unknown) => opts.logger.warn({ err: error }, 'alert state watch ended'));
  for await (const key of await kv.keys(`${prefix}>`)) {
    const entry = await kv.get(key);
    if (!entry || entry.operation !== 'PUT' || entry.length === 0) continue;
    const state = entry.json<StoredAlertState>();
    if (state.severity !== 'ok') initial.set(key.slice(prefix.length), state);
  }
  return {
    initial,
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
