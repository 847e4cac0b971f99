import type { Logger } from 'pino';
import type { SensorFleet } from '../../api/sensorFleet.ts';
import type { ReconcileIo, Result } from '../../framework/controller.ts';
import { isFenced } from '../../framework/fence.ts';
import { reconcileFinalizer } from '../../framework/finalizers.ts';
import { StatusWrites, updateStatus } from '../../framework/status.ts';
import { NatsSecretError, resolveNatsTarget, type ReadSecret } from '../../nats/credentials.ts';
import type { NatsPool } from '../../nats/pool.ts';
import { desiredStreams } from './desiredStreams.ts';
import { deleteStreams, ensureStreams, StreamImmutableError } from './ensureStreams.ts';
import {
  fleetStatus,
  RECEIVING_WINDOW_MS,
  significantChange,
  trafficChanged,
  type StreamOutcome,
} from './status.ts';
import type { TelemetrySubscriber } from './telemetrySubscriber.ts';
import type { TrafficBook } from './trafficBook.ts';

export const FLEET_FINALIZER = 'prognos.dev/streams';

/** Traffic-only status changes are written at most this often per fleet. */
export const TRAFFIC_WRITE_INTERVAL_MS = 15_000;

export interface FleetReconcilerDeps {
  pool: NatsPool;
  book: TrafficBook;
  telemetry: TelemetrySubscriber;
  /** Whether any MaintenanceModel scores this fleet (its runtimes are what report traffic). */
  hasModels(fleetKey: string): boolean;
  log: Logger;
  now?: () => Date;
}

export type ReconcileResult = Result;

function streamFailure(error: unknown): { reason: string; message: string } {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof NatsSecretError) return { reason: 'NatsCredentialsInvalid', message };
  if (error instanceof StreamImmutableError) return { reason: 'StreamImmutable', message };
  if (error instanceof Error && /partitions|subjectToken/.test(message))
    return { reason: 'InvalidPartitioning', message };
  const code = (error as { code?: unknown }).code;
  // JetStream API errors carry a numeric code; anything else is the connection itself.
  if (typeof code === 'number') return { reason: 'StreamRejected', message };
  return { reason: 'NatsUnreachable', message };
}

/**
 * Reconciles one SensorFleet: its streams on NATS (created, updated, deleted per policy) and its status
 * from the runtimes' telemetry. Status writes are rate-limited for traffic, immediate for conditions.
 */
export class SensorFleetReconciler {
  readonly #deps: FleetReconcilerDeps;
  readonly #lastTrafficWrite = new Map<string, number>();
  /** Status written but maybe not in the cache yet: transitions and writes compare with it. */
  readonly #statusWrites = new StatusWrites();

  constructor(deps: FleetReconcilerDeps) {
    this.#deps = deps;
  }

  /** `readSecret` reads the Secrets the fleet names from the cache (ReconcileContext.readReferenced). */
  async reconcile(
    key: string,
    cached: SensorFleet | undefined,
    readSecret: ReadSecret,
    io: ReconcileIo,
  ): Promise<ReconcileResult> {
    if (!cached) {
      this.#deps.book.forget(key);
      this.#lastTrafficWrite.delete(key);
      this.#statusWrites.forget(key);
      return {};
    }
    const outcome = await reconcileFinalizer(io.client, cached, FLEET_FINALIZER, (f) =>
      this.#cleanup(f, readSecret, io),
    );
    if (outcome.deleting) return {};
    const fleet = this.#statusWrites.fresh(outcome.obj);
    const ns = fleet.metadata.namespace!;
    const now = this.#deps.now?.() ?? new Date();

    let streams: StreamOutcome;
    try {
      const target = await resolveNatsTarget(fleet.spec.nats, ns, readSecret);
      const nc = await this.#deps.pool.get(target);
      this.#deps.telemetry.ensure(nc, ns);
      const [main, dlq] = await ensureStreams(nc, desiredStreams(fleet), io.fence);
      streams = {
        ok: true,
        name: main!.config.name,
        deadLetterStream: dlq!.config.name,
        messages: main!.state.messages,
        bytes: main!.state.bytes,
      };
    } catch (error) {
      if (isFenced(error, io.fence)) throw error;
      streams = { ok: false, ...streamFailure(error) };
    }

    const traffic = this.#deps.book.traffic(key, now.getTime());
    const next = fleetStatus({ fleet, streams, traffic, now });
    const result = await this.#writeStatus(io, key, fleet, next, now);
    if (!streams.ok) {
      const previous = fleet.status?.conditions?.find((c) => c.type === 'StreamReady');
      if (previous?.status !== 'False' || previous.reason !== streams.reason) {
        void io.events.emit(fleet, {
          type: 'Warning',
          reason: streams.reason,
          message: streams.message,
          action: 'EnsureStreams',
        });
      }
      // The status and the Event explain it; the queue's per-item backoff paces the retries.
      this.#deps.log.info(
        { fleet: key, reason: streams.reason, err: streams.message },
        'streams not ready; retrying with backoff',
      );
      return { requeue: true };
    }
    return result;
  }

  async #writeStatus(
    io: ReconcileIo,
    key: string,
    fleet: SensorFleet,
    next: ReturnType<typeof fleetStatus>,
    now: Date,
  ): Promise<ReconcileResult> {
    const current = fleet.status;
    const receiving = next.conditions?.find((c) => c.type === 'Receiving')?.status === 'True';
    // Telemetry lands in the book, not on the queue: a fleet with runtimes is looked at again each
    // write interval (reads only; it writes when the rounded figures moved). While readings arrive,
    // look again before the Receiving window closes. A fleet with no runtime waits for events.
    const recheck: ReconcileResult = this.#deps.hasModels(key)
      ? { requeueAfterMs: TRAFFIC_WRITE_INTERVAL_MS }
      : receiving
        ? { requeueAfterMs: RECEIVING_WINDOW_MS }
        : {};
    if (significantChange(current, next)) {
      await updateStatus(io.client, fleet, next, this.#statusWrites);
      this.#lastTrafficWrite.set(key, now.getTime());
      return recheck;
    }
    if (!trafficChanged(current, next)) return recheck;
    const since = now.getTime() - (this.#lastTrafficWrite.get(key) ?? 0);
    if (since < TRAFFIC_WRITE_INTERVAL_MS) return { requeueAfterMs: TRAFFIC_WRITE_INTERVAL_MS - since };
    await updateStatus(io.client, fleet, next, this.#statusWrites);
    this.#lastTrafficWrite.set(key, now.getTime());
    return recheck;
  }

  /** deletionPolicy Delete removes the streams (only ours); Retain keeps them and the readings. */
  async #cleanup(fleet: SensorFleet, readSecret: ReadSecret, io: ReconcileIo): Promise<void> {
    const key = `${fleet.metadata.namespace}/${fleet.metadata.name}`;
    this.#deps.book.forget(key);
    if (fleet.spec.deletionPolicy !== 'Delete') return;
    const target = await resolveNatsTarget(fleet.spec.nats, fleet.metadata.namespace!, readSecret);
    const deleted = await deleteStreams(await this.#deps.pool.get(target), desiredStreams(fleet), io.fence);
    this.#deps.log.info({ fleet: key, deleted }, 'deleted the fleet streams (deletionPolicy Delete)');
  }
}
