import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AlertSinkMetrics } from '../alerting/alertmanagerSink.ts';

/** Prometheus metrics of one inference runtime, on its own registry (several runtimes can share a process in tests). */
export interface RuntimeMetrics {
  registry: Registry;
  readings: Counter<'outcome'>;
  deadLetters: Counter<'reason'>;
  batchSize: Histogram;
  batchLatency: Histogram;
  redeliveries: Counter;
  dropped: Counter<'reason'>;
  natsConnected: Gauge;
  modelInfo: Gauge<'model' | 'version' | 'role' | 'sha256' | 'fallback'>;
  grpcRequests: Counter<'method' | 'code'>;
  /** Machine alerts delivered to Alertmanager (alerting.alertmanager). */
  alertmanager: AlertSinkMetrics;
  close(): void;
}

const prefix = 'prognos_inference_';

export function createRuntimeMetrics(): RuntimeMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // 10 ms resolution is the perf_hooks default; 1 ms is needed to see the ~2 ms batch budget.
  const loop: IntervalHistogram = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const nsToSeconds = (ns: number): number => (Number.isFinite(ns) ? ns / 1e9 : 0);

  new Gauge({
    name: `${prefix}event_loop_lag_seconds`,
    help: 'Event-loop delay (perf_hooks monitorEventLoopDelay, 1 ms resolution) since the previous scrape',
    labelNames: ['quantile'],
    registers: [registry],
    collect() {
      this.set({ quantile: '0.5' }, nsToSeconds(loop.percentile(50)));
      this.set({ quantile: '0.99' }, nsToSeconds(loop.percentile(99)));
      this.set({ quantile: '1' }, nsToSeconds(loop.max));
      loop.reset();
    },
  });

  return {
    registry,
    readings: new Counter({
      name: `${prefix}readings_total`,
      help: 'Readings handled, by outcome (prediction, dead_letter, filtered)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: `${prefix}dead_letters_total`,
      help: 'Readings rejected to the dead-letter subject, by machine-readable reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: `${prefix}batch_size`,
      help: 'Readings per processed batch',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registers: [registry],
    }),
    batchLatency: new Histogram({
      name: `${prefix}batch_latency_seconds`,
      help: 'Time to process one batch (decode, windows, model run, explanations), observed per batch',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
      registers: [registry],
    }),
    redeliveries: new Counter({
      name: `${prefix}redeliveries_total`,
      help: 'JetStream readings delivered more than once (duplicates after a crash or an ack timeout)',
      registers: [registry],
    }),
    dropped: new Counter({
      name: `${prefix}dropped_total`,
      help: 'Core-NATS readings dropped because the in-flight bound was reached (at-most-once mode)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    natsConnected: new Gauge({
      name: `${prefix}nats_connected`,
      help: '1 while the NATS connection is up',
      registers: [registry],
    }),
    modelInfo: new Gauge({
      name: `${prefix}model_info`,
      help: 'The model version this runtime serves (value 1); fallback="true" when fallback rules score',
      labelNames: ['model', 'version', 'role', 'sha256', 'fallback'],
      registers: [registry],
    }),
    grpcRequests: new Counter({
      name: `${prefix}grpc_requests_total`,
      help: 'gRPC calls by method and status code',
      labelNames: ['method', 'code'],
      registers: [registry],
    }),
    alertmanager: {
      alerts: new Counter({
        name: `${prefix}alertmanager_alerts_total`,
        help: 'Machine alerts (firing or resolved) by delivery outcome: sent, rejected (HTTP 4xx), dropped (queue full)',
        labelNames: ['outcome'],
        registers: [registry],
      }),
      postFailures: new Counter({
        name: `${prefix}alertmanager_post_failures_total`,
        help: 'POSTs to Alertmanager that failed and are retried (unreachable, timeout, 5xx)',
        registers: [registry],
      }),
      pending: new Gauge({
        name: `${prefix}alertmanager_pending_alerts`,
        help: 'Machine alerts waiting for delivery to Alertmanager',
        registers: [registry],
      }),
      deliverySeconds: new Histogram({
        name: `${prefix}alertmanager_delivery_seconds`,
        help: 'Time from an alert being queued to Alertmanager accepting it',
        buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600],
        registers: [registry],
      }),
    },
    close: () => loop.disable(),
  };
}
