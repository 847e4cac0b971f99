// The telemetry message runtimes publish on prognos.telemetry.<ns>.<model>.<version> and the operator
// reads (fleet status today; canary analysis and drift detection next). Schema version 1, documented
// in docs/inference-runtime-io.md#telemetry; fields are only ever added.
import type { Role } from './split.ts';

/** Fixed-edge histogram: counts[0] is below edges[0], counts[i] is [edges[i-1], edges[i]), the last
 * count at or above the last edge. Compact and mergeable by the reader. */
export interface HistogramSnapshot {
  edges: number[];
  counts: number[];
  count: number;
  sum: number;
}

export interface TelemetryCounts {
  messages: number;
  predictions: number;
  deadLetters: number;
  filtered: number;
  fallback: number;
  /** Failed ORT runs (a batch each; its readings were scored by the fallback rules). */
  scoreErrors: number;
  /** Readings whose model output was NaN or infinite, scored by the fallback rules instead. */
  invalidScores: number;
  alerts: number;
  batches: number;
  /** Rows sent to ORT, including occlusion variants. */
  rowsRun: number;
}

/** Which bins the feature histograms use: the model's baseline bins, or ones from the fleet schema. */
export type FeatureBins = 'baseline' | 'schema';

export interface TelemetryMessage {
  schema: 1;
  namespace: string;
  model: string;
  /** Version that served in this window (`fallback` when only rules scored). */
  version: string;
  role: Role;
  /** Emitting replica (pod name / hostname): summaries of several replicas are summed by the reader. */
  instance: string;
  /** The window [from, to), epoch ms. */
  from: number;
  to: number;
  serving: { modelServing: boolean; explain: string; lastError?: string };
  /** Machines with window state at the end of the window (a gauge, not a delta). */
  machines: number;
  counts: TelemetryCounts;
  deadLettersByReason: Record<string, number>;
  /** Batch wall time, ms. */
  latencyMs: HistogramSnapshot;
  /** Event-loop blocking time per batch, ms. */
  blockingMs: HistogramSnapshot;
  /** Time per ORT run (one per batch), ms. */
  ortRunMs: HistogramSnapshot;
  scores: HistogramSnapshot;
  /** Per model input; edges from the model's baseline bins when featureBins is `baseline`. */
  features: Record<string, HistogramSnapshot>;
  featureBins: FeatureBins;
  /** perf_hooks event-loop delay p99 over the window, ms. */
  eventLoopLagP99Ms: number;
  /** Shadow runtimes only: readings paired with the stable's prediction, and those the two agreed on. */
  shadow?: { compared: number; agreed: number };
}
