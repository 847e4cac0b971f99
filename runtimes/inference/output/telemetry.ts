// Periodic telemetry on prognos.telemetry.<ns>.<model>.<version>: what this runtime did since the
// previous message, computed as the delta of two pipeline.stats() snapshots. The operator's canary
// analysis and drift detection read it, so nothing requires Prometheus. Schema (version 1) is
// documented in docs/inference-runtime-io.md#telemetry; fields are only ever added.
import { hostname } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { HistogramSnapshot, TelemetryMessage } from '../../../contracts/telemetry.ts';
import type { PipelineStats } from '../pipeline/pipeline.ts';
import type { ShadowAgreementCounts } from './shadowComparison.ts';
import { telemetrySubject } from '../../../contracts/subjects.ts';

function histogramDelta(
  current: HistogramSnapshot,
  previous: HistogramSnapshot | undefined,
): HistogramSnapshot {
  const comparable =
    previous !== undefined &&
    previous.edges.length === current.edges.length &&
    previous.edges.every((e, i) => e === current.edges[i]) &&
    previous.count <= current.count;
  // A new model brings new histograms (reset counts or other edges): then the whole snapshot is the delta.
  if (!comparable) return current;
  return {
    edges: current.edges,
    counts: current.counts.map((c, i) => c - previous.counts[i]!),
    count: current.count - previous.count,
    sum: current.sum - previous.sum,
  };
}

/** The telemetry message for the window between two stats snapshots (`previous` undefined: since start). */
export function telemetryDelta(
  current: PipelineStats,
  previous: PipelineStats | undefined,
  window: { namespace: string; instance: string; from: number; to: number; eventLoopLagP99Ms: number },
  shadow?: { current: ShadowAgreementCounts; previous: ShadowAgreementCounts | undefined },
): TelemetryMessage {
  const counts = { ...current.counts };
  if (previous)
    for (const k of Object.keys(counts) as (keyof typeof counts)[]) counts[k] -= previous.counts[k];
  const deadLettersByReason: Record<string, number> = {};
  for (const [reason, n] of Object.entries(current.deadLettersByReason)) {
    const d = n - ((previous?.deadLettersByReason as Record<string, number> | undefined)?.[reason] ?? 0);
    if (d > 0) deadLettersByReason[reason] = d;
  }
  const features: Record<string, HistogramSnapshot> = {};
  for (const [name, h] of Object.entries(current.features))
    features[name] = histogramDelta(h, previous?.features[name]);
  const serving: TelemetryMessage['serving'] = {
    modelServing: current.serving.modelServing,
    explain: current.serving.explain,
  };
  if (current.serving.lastError)
    serving.lastError = `${current.serving.lastError.reason}: ${current.serving.lastError.message}`;
  const message: TelemetryMessage = {
    schema: 1,
    namespace: window.namespace,
    model: current.model,
    version: current.serving.version ?? 'fallback',
    role: current.role,
    instance: window.instance,
    from: window.from,
    to: window.to,
    serving,
    machines: current.machines,
    counts,
    deadLettersByReason,
    latencyMs: histogramDelta(current.batchLatencyMs, previous?.batchLatencyMs),
    blockingMs: histogramDelta(current.batchBlockingMs, previous?.batchBlockingMs),
    ortRunMs: histogramDelta(current.ortRunMs, previous?.ortRunMs),
    scores: histogramDelta(current.scores, previous?.scores),
    features,
    featureBins: current.featureBins,
    eventLoopLagP99Ms: window.eventLoopLagP99Ms,
  };
  if (shadow)
    message.shadow = {
      compared: shadow.current.shadowCompared - (shadow.previous?.shadowCompared ?? 0),
      agreed: shadow.current.shadowAgreed - (shadow.previous?.shadowAgreed ?? 0),
    };
  return message;
}

export interface TelemetryPublisher {
  /** Publishes the window so far now (shutdown calls it so the last seconds are not lost). */
  flush(): void;
  stop(): void;
}

export interface TelemetryOptions {
  nc: NatsConnection;
  namespace: string;
  /** Subject version token when no model serves (fallback). */
  configuredVersion: string;
  intervalMs: number;
  stats(): PipelineStats;
  /** A shadow's agreement counts (shadowComparison.ts), cumulative. */
  shadowCounts?: () => ShadowAgreementCounts;
  logger: Logger;
  now?: () => number;
}

export function startTelemetry(opts: TelemetryOptions): TelemetryPublisher {
  const now = opts.now ?? Date.now;
  const instance = process.env.POD_NAME ?? hostname();
  const encoder = new TextEncoder();
  let previous: PipelineStats | undefined;
  let previousShadow: ShadowAgreementCounts | undefined;
  let from = now();
  // Its own monitor, reset per window (the Prometheus gauge resets per scrape).
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const flush = (): void => {
    const current = opts.stats();
    const shadow = opts.shadowCounts?.();
    const to = now();
    const message = telemetryDelta(
      current,
      previous,
      {
        namespace: opts.namespace,
        instance,
        from,
        to,
        eventLoopLagP99Ms: loop.count > 0 ? loop.percentile(99) / 1e6 : 0,
      },
      shadow && { current: shadow, previous: previousShadow },
    );
    loop.reset();
    previous = current;
    previousShadow = shadow;
    from = to;
    const version = current.serving.version ?? opts.configuredVersion;
    try {
      opts.nc.publish(
        telemetrySubject(opts.namespace, current.model, version),
        encoder.encode(JSON.stringify(message)),
      );
    } catch (error) {
      // Only a closed connection throws; telemetry is best effort and must not stop the runtime.
      opts.logger.warn({ err: error }, 'telemetry not published');
    }
  };
  const timer = setInterval(flush, opts.intervalMs);
  timer.unref();
  return {
    flush,
    stop() {
      clearInterval(timer);
      loop.disable();
    },
  };
}
