// Delivers machine alerts to Alertmanager off the scoring path: send() only queues (DeliveryQueue:
// bounded, coalescing per machine and severity), and one loop POSTs batches, retrying failures with
// doubling backoff. An unreachable Alertmanager therefore costs a bounded queue and a log line per
// outage, never a slower batch.
import type { Logger } from 'pino';
import type { Counter, Gauge, Histogram } from 'prom-client';
import type { PostAlerts } from './alertmanagerClient.ts';
import { postableAlert } from './alertmanagerPayload.ts';
import { DeliveryQueue, retryDelayMs } from './deliveryQueue.ts';
import { alertKey, type MachineAlert } from './machineAlert.ts';

export interface AlertSinkMetrics {
  /** By outcome: sent, rejected (a 4xx that retrying cannot fix), dropped (queue full). */
  alerts: Counter<'outcome'>;
  postFailures: Counter;
  pending: Gauge;
  /** From first queued to delivered. */
  deliverySeconds: Histogram;
}

export interface AlertSinkOptions {
  post: PostAlerts;
  namespace: string;
  model: string;
  endsAfterMs: number;
  maxPending: number;
  maxBatch: number;
  retry: { initialMs: number; maxMs: number };
  metrics: AlertSinkMetrics;
  logger: Logger;
  now?: () => number;
}

export interface AlertSink {
  send(alert: MachineAlert): void;
  /** Alerts waiting for delivery. */
  pending(): number;
  /** How many more can be queued before the oldest is dropped. */
  room(): number;
  /** Stops the loop after delivering what is queued, for at most graceMs. */
  stop(graceMs: number): Promise<void>;
}

export function startAlertmanagerSink(opts: AlertSinkOptions): AlertSink {
  const now = opts.now ?? Date.now;
  const queue = new DeliveryQueue<MachineAlert>(opts.maxPending);
  const ctx = { namespace: opts.namespace, model: opts.model, endsAfterMs: opts.endsAfterMs };
  const { metrics, logger } = opts;
  /** Resolves the idle wait: something was queued (or the sink stops). */
  let wake: (() => void) | undefined;
  /** Cuts a backoff short, only on stop: new alerts must not hurry retries against a failing Alertmanager. */
  let interrupt: (() => void) | undefined;
  let stopping = false;
  let deadline = Infinity;
  let failures = 0;

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(finish, ms);
      function finish(): void {
        clearTimeout(timer);
        interrupt = undefined;
        resolve();
      }
      interrupt = finish;
    });

  const loop = async (): Promise<void> => {
    for (;;) {
      metrics.pending.set(queue.size);
      if (queue.size === 0) {
        if (stopping) return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      if (now() >= deadline) return;
      const batch = queue.take(opts.maxBatch);
      const sentAt = now();
      const outcome = await opts.post(batch.map((e) => postableAlert(e.item, ctx, sentAt)));
      if (outcome.ok) {
        if (failures > 0) logger.info({ failures }, 'Alertmanager reachable again');
        failures = 0;
        const done = now();
        metrics.alerts.inc({ outcome: 'sent' }, batch.length);
        for (const e of batch) metrics.deliverySeconds.observe((done - e.queuedAt) / 1000);
        continue;
      }
      if (!outcome.retry) {
        metrics.alerts.inc({ outcome: 'rejected' }, batch.length);
        logger.error({ err: outcome.error, alerts: batch.length }, 'Alertmanager rejected alerts; dropped');
        continue;
      }
      failures += 1;
      metrics.postFailures.inc();
      const dropped = queue.putBack(batch);
      if (dropped) metrics.alerts.inc({ outcome: 'dropped' }, dropped);
      metrics.pending.set(queue.size);
      // Once per outage, then quiet: the metrics count the rest.
      if (failures === 1)
        logger.warn(
          { err: outcome.error, pending: queue.size },
          'Alertmanager unreachable; retrying with backoff',
        );
      if (stopping && now() >= deadline) return;
      await sleep(Math.min(retryDelayMs(failures, opts.retry), Math.max(0, deadline - now())));
    }
  };
  const done = loop().catch((error: unknown) => logger.error({ err: error }, 'alert delivery loop failed'));

  return {
    send(alert) {
      const dropped = queue.put(alertKey(alert.machineId, alert.severity), alert, now());
      if (dropped) metrics.alerts.inc({ outcome: 'dropped' }, dropped);
      metrics.pending.set(queue.size);
      wake?.();
    },
    pending: () => queue.size,
    room: () => opts.maxPending - queue.size,
    async stop(graceMs) {
      stopping = true;
      deadline = now() + graceMs;
      wake?.();
      interrupt?.();
      await done;
      if (queue.size > 0) logger.warn({ pending: queue.size }, 'stopped with alerts not delivered');
    },
  };
}
