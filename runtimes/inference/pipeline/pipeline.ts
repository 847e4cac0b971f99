// The seam between the runtime's I/O and its core: a batch of raw NATS messages in, per-message
// outcomes (prediction | dead letter | filtered by the rollout split) in input order out, with one
// ORT run per batch. Decoding, windows and rows run synchronously before that run, so concurrent
// process() calls never interleave a machine's window updates.
import type { RuntimeConfig } from '../../../contracts/runtimeConfig.ts';
import { ArtifactError, type FetchArtifactDeps } from '../scoring/artifact.ts';
import { AlertTracker, type AlertState } from '../decision/alerts.ts';
import type { DeadLetterReason, Rejection } from '../output/deadLetterReason.ts';
import { fallbackInputs, scoreByRules } from '../decision/fallback.ts';
import {
  createFeatureVectorBuilder,
  type FeatureVectorBuilder,
  windowSpecsOf,
} from '../features/featureVector.ts';
import { Histogram, LATENCY_EDGES_MS } from '../features/histogram.ts';
import type { FeatureBins, HistogramSnapshot, TelemetryCounts } from '../../../contracts/telemetry.ts';
import type { LoadedModel } from '../scoring/model.ts';
import { createReadingDecoder } from '../input/reading.ts';
import { writeNeed, type LastWrite } from '../decision/healthThrottle.ts';
import { JsonBytes, type PredictionFields } from '../output/predictionEncoding.ts';
import { scoreBatch, type ExplainMethod, type ScoredBatch } from '../scoring/scoring.ts';
import {
  decideFromRules,
  decideFromScore,
  emptyDecision,
  type ReadingDecision,
} from '../decision/readingDecision.ts';
import { scoreBinEdges, type Severity } from '../decision/severity.ts';
import { shouldHandle, type Role, type Split } from '../../../contracts/split.ts';
import { WindowStore } from '../features/windows.ts';
import { baselineFor, ServedModel, type ModelContext } from './servedModel.ts';

export interface PipelineMessage {
  subject: string;
  data: Uint8Array;
  /** Epoch ms the message was received; defaults to now. Bounds future timestamps. */
  receivedAt?: number;
  /** JetStream delivered it before (failover, restart). */
  redelivered?: boolean;
}

export interface Prediction {
  machineId: string;
  /** Reading time, epoch ms. */
  ts: number;
  /** Failure probability, RUL in cycles, or reconstruction error; for fallback 0 / 0.5 / 1 by severity. */
  score: number;
  severity: Severity;
  healthScore: number;
  /** Remaining useful life (regression models only). */
  rulCycles?: number;
  /** Present (true) while the machine's windows on this replica are not full: first readings, or a partition that just moved here. */
  warming?: true;
  /**
   * Present (true) for a reading JetStream delivered again (a replica died before acknowledging it):
   * at-least-once, so it may have been scored before; scored on the machine's current windows, which
   * it does not enter when newer readings already did.
   */
  redelivered?: true;
  /** Contribution of each feature (or model input, by explain.granularity) to the score, in score units. */
  contributions: Record<string, number>;
  model: string;
  /** Version of the model that scored, or `fallback` when rules did. */
  modelVersion: string;
  role: Role;
  fallback: boolean;
}

export interface DeadLetter {
  rejection: Rejection;
  subject: string;
  data: Uint8Array;
  receivedAt: number;
}

export interface AlertEvent {
  machineId: string;
  from: Severity;
  to: Severity;
  ts: number;
  /** When the machine entered `from`, when that was not ok (reading time, epoch ms). */
  previousSince?: number;
  score: number;
  healthScore: number;
  /** Remaining useful life (regression models only). */
  rulCycles?: number;
  /** The largest contributions to the score (at most TOP_CONTRIBUTIONS), in score units. */
  contributions: Record<string, number>;
  model: string;
  modelVersion: string;
  role: Role;
  fallback: boolean;
}

/** An alert still active on a machine scored here: sent at most once per EncodeOptions.alertRefreshMs. */
export interface AlertRefresh {
  machineId: string;
  severity: Exclude<Severity, 'ok'>;
  /** When the machine entered this severity (reading time, epoch ms). */
  since: number;
  ts: number;
  score: number;
  healthScore: number;
  rulCycles?: number;
  contributions: Record<string, number>;
  modelVersion: string;
  fallback: boolean;
}

/** Contributions an alert carries: the largest by magnitude. */
export const TOP_CONTRIBUTIONS = 3;

export type Outcome =
  | { kind: 'prediction'; prediction: Prediction }
  | { kind: 'dead_letter'; deadLetter: DeadLetter }
  | { kind: 'filtered'; machineId: string };

export interface PipelineResult {
  /** One per input message, in input order. */
  outcomes: Outcome[];
  predictions: Prediction[];
  deadLetters: DeadLetter[];
  alerts: AlertEvent[];
}

export interface ProcessOptions {
  /** Score every machine whatever the rollout split says (gRPC: the caller asked for this reading). */
  ignoreSplit?: boolean;
}

export interface EncodeOptions extends ProcessOptions {
  /**
   * When set, the batch carries the machine-health entries due for a write: a severity change at
   * once, otherwise at most once per this interval per machine (the store's own rule, applied here
   * so only those cross the thread boundary).
   */
  healthIntervalMs?: number;
  /**
   * Budget for refreshes (entries that are not severity changes) per second, the store's token
   * bucket applied here too: refreshes over budget stay in the worker and are retried on the
   * machine's next reading, instead of crossing the thread boundary only to be dropped.
   */
  healthRefreshesPerSecond?: number;
  /**
   * When set, the batch carries an AlertRefresh for each machine whose alert is active, at most once
   * per this interval per machine and at once for a machine first scored here with an active state
   * (restored from the shared store): what keeps the shared state and Alertmanager current.
   */
  alertRefreshMs?: number;
}

/** Disposition codes of EncodedBatch.dispositions. */
export const DISPOSITION_ACK = 0;
export const DISPOSITION_TERM = 1;

export interface MachineHealthUpdate {
  machineId: string;
  severity: Severity;
  healthScore: number;
  score: number;
  rul?: number;
  modelVersion: string;
  role: Role;
  ts: number;
}

/** A processed batch ready to publish: predictions already encoded, one buffer for the whole batch. */
export interface EncodedBatch {
  messages: number;
  /** One per input message: DISPOSITION_ACK (prediction or filtered) or DISPOSITION_TERM (dead letter). */
  dispositions: Uint8Array;
  /** Reason of each dead letter, in input order (the term reason). */
  deadLetterReasons: DeadLetterReason[];
  predictionCount: number;
  /** Machine ids of the predictions, in order, joined by newlines. */
  machineIds: string;
  /** The prediction documents back to back (UTF-8 JSON). */
  predictionBytes: Uint8Array;
  /** End offset of each prediction document in predictionBytes. */
  predictionEnds: Uint32Array;
  deadLetters: DeadLetter[];
  alerts: AlertEvent[];
  alertRefreshes: AlertRefresh[];
  health: MachineHealthUpdate[];
}

interface Accepted {
  index: number;
  machineId: string;
  ts: number;
  /** The machine's windows are not full yet on this replica (new here, or its partition just moved). */
  warming: boolean;
  redelivered: boolean;
}

/** What #score hands to the result builders; release() returns the row buffer and the model lease. */
interface ScoringPass {
  started: number;
  resumed: number;
  blockingMs: number;
  messages: number;
  model: LoadedModel | undefined;
  context: ModelContext | undefined;
  width: number;
  outcomes: Outcome[];
  deadLetters: DeadLetter[];
  accepted: Accepted[];
  scored: ScoredBatch | undefined;
  release(): void;
}

export interface ArtifactSpec {
  version: string;
  uri: string;
  sha256: string;
  /** Defaults to the configured artifact's inputs (required when the config has no artifact). */
  inputs?: string[];
  output?: string;
}

export interface ServingState {
  /** A verified model serves; false means fallback rules score (Degraded). */
  modelServing: boolean;
  version?: string;
  sha256?: string;
  explain: ExplainMethod;
  /** Why the last load failed, when it did (ArtifactError reason and message). */
  lastError?: { reason: string; message: string; version: string };
}

export interface PipelineStats {
  schema: 1;
  model: string;
  role: Role;
  serving: ServingState;
  machines: number;
  counts: TelemetryCounts;
  deadLettersByReason: Partial<Record<DeadLetterReason, number>>;
  /** Wall time of process() per batch. */
  batchLatencyMs: HistogramSnapshot;
  /** Event-loop blocking per batch: synchronous decode/windows/rows/results, plus the ORT run when it is in-process. */
  batchBlockingMs: HistogramSnapshot;
  /** Time per ORT run (one per batch, occlusion variants included). */
  ortRunMs: HistogramSnapshot;
  scores: HistogramSnapshot;
  /** Model inputs of scored rows, binned against the model's baseline bins when it carries them. */
  features: Record<string, HistogramSnapshot>;
  /** Which bins the feature histograms use. */
  featureBins: FeatureBins;
}

export interface PipelineDeps extends FetchArtifactDeps {
  now?: () => number;
  /** Told about model load failures and swaps (runtime-io logs them and flips readiness). */
  onServingChange?: (state: ServingState) => void;
  /** Waits between fetches of a configured artifact that could not be fetched (default 1 s doubling to 60 s). */
  artifactRetry?: { initialMs: number; maxMs: number };
}

const ARTIFACT_RETRY = { initialMs: 1_000, maxMs: 60_000 };

export interface Pipeline {
  process(messages: readonly PipelineMessage[], opts?: ProcessOptions): Promise<PipelineResult>;
  /** Like process(), but returns the batch encoded for publishing (no per-prediction objects). */
  processEncoded(messages: readonly PipelineMessage[], opts?: EncodeOptions): Promise<EncodedBatch>;
  /** Fetches, verifies and loads `artifact`, then swaps it in between batches. On failure the serving model stays and this rejects with an ArtifactError. */
  swapModel(artifact: ArtifactSpec): Promise<ServingState>;
  /**
   * A pipeline over the same loaded model (and its swaps) with its own windows, alert states, counts
   * and split: what gRPC scores through, so its readings never change what the NATS-fed windows
   * compute. It does not feed the model's feature histograms (telemetry describes the NATS traffic),
   * and closing it leaves the model to its owner.
   */
  sibling(): Pipeline;
  setSplit(split: Split | null): void;
  /**
   * Replaces machines' alert states with ones recorded by other replicas (undefined: ok).
   * `handedOut`: a live replica wrote them just now (it refreshes them), rather than they were found
   * at start-up.
   */
  restoreAlerts(states: readonly (readonly [string, AlertState | undefined])[], handedOut: boolean): void;
  markMaintenance(machineId: string): boolean;
  /** Evicts machines idle longer than machineTtlSeconds (also done lazily by process()). */
  evictIdle(now?: number): string[];
  serving(): ServingState;
  stats(): PipelineStats;
  close(): Promise<void>;
}

/**
 * Creates the pipeline and loads the configured artifact; a failed load leaves it serving fallback
 * rules. Without an artifact (nothing verified yet) there is nothing to load: fallback rules serve.
 * An artifact that could not be fetched (object store or web server down while the pod started) is
 * fetched again in the background with backoff until it loads: otherwise the replica would score
 * with fallback rules until it restarts, although the operator verified the model.
 */
export async function createPipeline(config: RuntimeConfig, deps: PipelineDeps = {}): Promise<Pipeline> {
  const served = new ServedModel(config, deps);
  const pipeline = new InferencePipeline(config, deps, served, true);
  if (!config.artifact) return pipeline;
  const artifact = { version: config.version, ...config.artifact };
  try {
    await served.swap(artifact);
  } catch (error) {
    if (!(error instanceof ArtifactError)) throw error;
    if (error.reason === 'fetch_failed') served.retryFetch(artifact, deps.artifactRetry ?? ARTIFACT_RETRY);
  }
  return pipeline;
}

class InferencePipeline implements Pipeline {
  readonly #config: RuntimeConfig;
  readonly #deps: PipelineDeps;
  readonly #now: () => number;
  readonly #decode: ReturnType<typeof createReadingDecoder>;
  readonly #windows: WindowStore;
  readonly #served: ServedModel;
  /** The pipeline that loaded the model closes it and feeds its feature histograms; a sibling does neither. */
  readonly #owner: boolean;
  /**
   * A stable or canary reading the operator's partition consumers: the partitions decide what it
   * reads, so the split filters nothing. A reading taken just before the split dropped this role
   * (promoted, rolled back) is acked here and reaches no other role; filtering it would lose it.
   */
  readonly #partitioned: boolean;
  readonly #alerts = new AlertTracker();
  readonly #fallbackInputs: string[];
  readonly #fallbackBuilder: FeatureVectorBuilder;
  /** The fallback rules' inputs of each accepted reading of a batch, taken as it enters its window. */
  #fallbackRows: Float32Array;
  #split: Split | undefined;
  #lastEviction: number;
  readonly #buffers: Float32Array[] = [];
  /** Where processEncoded writes a batch's prediction documents (synchronously, so one is enough). */
  readonly #text = new JsonBytes();
  readonly #healthSent = new Map<string, LastWrite>();
  /** When each active alert was last handed out (transition or refresh), wall-clock ms. */
  readonly #alertSentAt = new Map<string, number>();
  readonly #healthBudget = { tokens: Infinity, at: 0 };
  readonly #counts: PipelineStats['counts'] = {
    messages: 0,
    predictions: 0,
    deadLetters: 0,
    filtered: 0,
    fallback: 0,
    scoreErrors: 0,
    invalidScores: 0,
    alerts: 0,
    batches: 0,
    rowsRun: 0,
  };
  readonly #deadLettersByReason: Partial<Record<DeadLetterReason, number>> = {};
  readonly #latency = new Histogram(LATENCY_EDGES_MS);
  readonly #blocking = new Histogram(LATENCY_EDGES_MS);
  readonly #ortRun = new Histogram(LATENCY_EDGES_MS);
  readonly #scores: Histogram;

  constructor(config: RuntimeConfig, deps: PipelineDeps, served: ServedModel, owner: boolean) {
    this.#config = config;
    this.#deps = deps;
    this.#served = served;
    this.#owner = owner;
    this.#partitioned =
      config.input.mode === 'jetstream' && config.input.consumers !== undefined && config.role !== 'shadow';
    this.#now = deps.now ?? Date.now;
    this.#decode = createReadingDecoder(config);
    this.#windows = new WindowStore(windowSpecsOf(config), config.schema.features.length);
    this.#fallbackInputs = fallbackInputs(config.fallback.rules);
    this.#fallbackBuilder = createFeatureVectorBuilder(config, this.#fallbackInputs);
    this.#fallbackRows = new Float32Array(0);
    this.#lastEviction = this.#now();
    this.#scores = new Histogram(scoreBinEdges(config.task, config.thresholds));
  }

  async process(messages: readonly PipelineMessage[], opts: ProcessOptions = {}): Promise<PipelineResult> {
    const batch = await this.#score(messages, opts);
    try {
      const { model: modelName, role } = this.#config;
      const names = batch.context?.groups.names ?? [];
      const contributions = batch.scored?.contributions;
      const predictions: Prediction[] = [];
      const { alerts } = this.#decideEach(batch, undefined, (a, k, d, modelVersion) => {
        let byFeature = d.ruleContributions;
        if (!byFeature) {
          byFeature = {};
          if (contributions)
            for (let g = 0; g < names.length; g++)
              byFeature[names[g]!] = contributions[k * names.length + g]!;
        }
        const prediction: Prediction = {
          machineId: a.machineId,
          ts: a.ts,
          score: d.score,
          severity: d.severity,
          healthScore: d.healthScore,
          contributions: byFeature,
          model: modelName,
          modelVersion,
          role,
          fallback: d.fallback,
        };
        if (d.rulCycles !== undefined) prediction.rulCycles = d.rulCycles;
        if (a.warming) prediction.warming = true;
        if (a.redelivered) prediction.redelivered = true;
        predictions.push(prediction);
        batch.outcomes[a.index] = { kind: 'prediction', prediction };
      });
      this.#finish(batch, alerts.length);
      return { outcomes: batch.outcomes, predictions, deadLetters: batch.deadLetters, alerts };
    } finally {
      batch.release();
    }
  }

  async processEncoded(
    messages: readonly PipelineMessage[],
    opts: EncodeOptions = {},
  ): Promise<EncodedBatch> {
    const batch = await this.#score(messages, opts);
    try {
      const { model: modelName, role } = this.#config;
      const n = batch.accepted.length;
      const groupCount = batch.context ? batch.context.groups.names.length : 0;
      const health: MachineHealthUpdate[] = [];
      const healthIntervalMs = opts.healthIntervalMs;
      const now = this.#now();
      const encoder = batch.context?.encoder;
      const fields: PredictionFields = { machineId: '', ts: 0, score: 0, severity: 'ok', healthScore: 0 };
      const text = this.#text;
      text.reset();
      const ends = new Uint32Array(n);
      let ids = '';
      const { alerts, refreshes } = this.#decideEach(batch, opts.alertRefreshMs, (a, k, d, modelVersion) => {
        if (d.fallback || !encoder) {
          text.text(
            JSON.stringify({
              machineId: a.machineId,
              ts: a.ts,
              score: d.score,
              severity: d.severity,
              healthScore: d.healthScore,
              contributions: d.ruleContributions ?? {},
              model: modelName,
              modelVersion,
              role,
              fallback: true,
              ...(a.warming ? { warming: true as const } : {}),
              ...(a.redelivered ? { redelivered: true as const } : {}),
            } satisfies Prediction),
          );
        } else {
          fields.machineId = a.machineId;
          fields.ts = a.ts;
          fields.score = d.score;
          fields.severity = d.severity;
          fields.healthScore = d.healthScore;
          // Every field is set for every prediction: the object is reused across the batch.
          fields.rulCycles = d.rulCycles;
          fields.warming = a.warming;
          fields.redelivered = a.redelivered;
          encoder.encode(text, fields, batch.scored!.contributions, k * groupCount);
        }
        ends[k] = text.length;
        ids += k === 0 ? a.machineId : '\n' + a.machineId;
        if (
          healthIntervalMs !== undefined &&
          this.#healthDue(a.machineId, d.severity, now, healthIntervalMs, opts.healthRefreshesPerSecond)
        ) {
          const h: MachineHealthUpdate = {
            machineId: a.machineId,
            severity: d.severity,
            healthScore: d.healthScore,
            score: d.score,
            modelVersion,
            role,
            ts: a.ts,
          };
          if (d.rulCycles !== undefined) h.rul = d.rulCycles;
          health.push(h);
        }
      });
      this.#finish(batch, alerts.length);
      const dispositions = new Uint8Array(messages.length);
      const deadLetterReasons: DeadLetterReason[] = [];
      for (let i = 0; i < messages.length; i++) {
        const o = batch.outcomes[i];
        if (o?.kind === 'dead_letter') {
          dispositions[i] = DISPOSITION_TERM;
          deadLetterReasons.push(o.deadLetter.rejection.reason);
        }
      }
      return {
        messages: messages.length,
        dispositions,
        deadLetterReasons,
        predictionCount: n,
        machineIds: ids,
        // A copy: the batch's buffer is transferred to the main thread, the writer is reused.
        predictionBytes: text.copy(),
        predictionEnds: ends,
        deadLetters: batch.deadLetters,
        alerts,
        alertRefreshes: refreshes,
        health,
      };
    } finally {
      batch.release();
    }
  }

  /**
   * The one per-reading decision path, whatever the output: the model's score (or, without one, the
   * fallback rules) → severity, health and RUL (readingDecision.ts), handed to `each`, then the alert
   * hysteresis. Returns the alerts of the batch.
   */
  #decideEach(
    batch: ScoringPass,
    refreshMs: number | undefined,
    each: (a: Accepted, k: number, d: ReadingDecision, modelVersion: string) => void,
  ): { alerts: AlertEvent[]; refreshes: AlertRefresh[] } {
    const { model, context, accepted, scored } = batch;
    const { task, thresholds } = this.#config;
    const hysteresis = this.#config.alerts.hysteresis;
    const alerts: AlertEvent[] = [];
    const refreshes: AlertRefresh[] = [];
    const now = this.#now();
    const d = emptyDecision();
    for (let k = 0; k < accepted.length; k++) {
      const a = accepted[k]!;
      const score = scored ? scored.scores[k]! : NaN;
      // A NaN or infinite output is no prediction: the rules score that reading, and it counts.
      if (scored && model && context && Number.isFinite(score))
        decideFromScore(task, thresholds, hysteresis, score, d);
      else {
        if (scored) this.#counts.invalidScores += 1;
        decideFromRules(this.#fallbackScore(k), d);
      }
      const modelVersion = d.fallback ? 'fallback' : model!.version;
      each(a, k, d, modelVersion);
      const alert = this.#observe(a, d, modelVersion, batch, k, now);
      if (alert) alerts.push(alert);
      else if (refreshMs !== undefined) {
        const refresh = this.#refreshDue(a, d, modelVersion, batch, k, now, refreshMs);
        if (refresh) refreshes.push(refresh);
      }
    }
    return { alerts, refreshes };
  }

  /** Decode, split, windows and rows (synchronous, so batches never interleave a machine's windows), then one ORT run. */
  async #score(messages: readonly PipelineMessage[], opts: ProcessOptions): Promise<ScoringPass> {
    const started = performance.now();
    const now = this.#now();
    this.#maybeEvict(now);
    const lease = this.#served.acquire();
    const model = lease?.model;
    const context = lease?.context;
    const width = model ? model.rowWidth : 0;
    const outcomes: Outcome[] = new Array(messages.length);
    const deadLetters: DeadLetter[] = [];
    const accepted: Accepted[] = [];
    // Room for the rows and, when explaining by occlusion, one variant per group of each behind them.
    const stride = context?.method === 'occlusion' ? 1 + context.groups.members.length : 1;
    const buffer = this.#takeBuffer(Math.max(1, messages.length * width * stride));
    const fallbackWidth = this.#fallbackInputs.length;
    if (this.#fallbackRows.length < messages.length * fallbackWidth)
      this.#fallbackRows = new Float32Array(messages.length * fallbackWidth);
    const release = (): void => {
      this.#buffers.push(buffer);
      lease?.release();
    };
    try {
      for (let i = 0; i < messages.length; i++) {
        const message = messages[i]!;
        const receivedAt = message.receivedAt ?? now;
        const decoded = this.#decode(message.subject, message.data, receivedAt);
        if (!decoded.ok) {
          const deadLetter = { rejection: decoded, subject: message.subject, data: message.data, receivedAt };
          deadLetters.push(deadLetter);
          outcomes[i] = { kind: 'dead_letter', deadLetter };
          this.#deadLettersByReason[decoded.reason] = (this.#deadLettersByReason[decoded.reason] ?? 0) + 1;
          continue;
        }
        const { machineId, ts, values } = decoded.reading;
        if (
          !opts.ignoreSplit &&
          !this.#partitioned &&
          !shouldHandle(this.#split, this.#served.identityVersion, this.#config.role, machineId)
        ) {
          outcomes[i] = { kind: 'filtered', machineId };
          continue;
        }
        // The row is built right after its reading enters the window, before any later reading of the same machine.
        const slot = this.#windows.push(machineId, values, receivedAt, ts);
        if (context) context.builder.fill(this.#windows, slot, buffer, accepted.length * width);
        // Rules too may score this reading (no model, or a failed run): they see it as it entered,
        // not the machine's window after the whole batch.
        if (fallbackWidth > 0)
          this.#fallbackBuilder.fill(
            this.#windows,
            slot,
            this.#fallbackRows,
            accepted.length * fallbackWidth,
          );
        const warming = context ? !this.#windows.warmedUp(slot, context.builder.warmup) : false;
        accepted.push({ index: i, machineId, ts, warming, redelivered: message.redelivered === true });
      }
      const n = accepted.length;
      let blockingMs = performance.now() - started;

      let scored: ScoredBatch | undefined;
      if (model && context && n > 0) {
        const baseline = baselineFor(model, context, buffer, n);
        const runStarted = performance.now();
        try {
          scored = await scoreBatch(model, buffer, n, context.method, baseline, context.groups);
          this.#counts.rowsRun += scored.rowsRun;
        } catch {
          // A failing run must not lose the batch: score it by the rules and count the error.
          this.#counts.scoreErrors += 1;
        }
        // In-process onnxruntime-node runs the session synchronously on the calling thread (inside a
        // setImmediate), so the awaited time counts as blocking: an upper bound, it includes the hop.
        const runMs = performance.now() - runStarted;
        if (model.blocksEventLoop) blockingMs += runMs;
        this.#ortRun.observe(runMs);
        if (scored) {
          for (let k = 0; k < n; k++) {
            this.#scores.observe(scored.scores[k]!);
            // Per input: its value in the row, the newest time step for a sequence model.
            const last = k * width + width - model.inputs.length;
            if (this.#owner)
              for (let j = 0; j < model.inputs.length; j++) context.features[j]!.observe(buffer[last + j]!);
          }
        }
      }
      return {
        started,
        resumed: performance.now(),
        blockingMs,
        messages: messages.length,
        model,
        context,
        width,
        outcomes,
        deadLetters,
        accepted,
        scored,
        release,
      };
    } catch (error) {
      release();
      throw error;
    }
  }

  /** The rules on the k-th accepted reading's inputs (filled by #score). */
  #fallbackScore(k: number): ReturnType<typeof scoreByRules> {
    const w = this.#fallbackInputs.length;
    const r = scoreByRules(
      this.#config.fallback.rules,
      this.#fallbackInputs,
      this.#fallbackRows.subarray(k * w, k * w + w),
    );
    this.#scores.observe(r.score);
    this.#counts.fallback += 1;
    return r;
  }

  #observe(
    a: Accepted,
    d: ReadingDecision,
    modelVersion: string,
    batch: ScoringPass,
    k: number,
    now: number,
  ): AlertEvent | undefined {
    const transition = this.#alerts.observe(a.machineId, a.ts, d.severity, d.relaxed);
    if (!transition) return undefined;
    if (transition.to === 'ok') this.#alertSentAt.delete(a.machineId);
    else this.#alertSentAt.set(a.machineId, now);
    const event: AlertEvent = {
      ...transition,
      score: d.score,
      healthScore: d.healthScore,
      contributions: this.#topContributions(batch, k, d),
      model: this.#config.model,
      modelVersion,
      role: this.#config.role,
      fallback: d.fallback,
    };
    if (d.rulCycles !== undefined) event.rulCycles = d.rulCycles;
    return event;
  }

  /** An active alert of a machine scored here, when its last hand-out is older than refreshMs (or there was none). */
  #refreshDue(
    a: Accepted,
    d: ReadingDecision,
    modelVersion: string,
    batch: ScoringPass,
    k: number,
    now: number,
    refreshMs: number,
  ): AlertRefresh | undefined {
    const state = this.#alerts.active(a.machineId);
    if (!state) return undefined;
    const last = this.#alertSentAt.get(a.machineId);
    if (last !== undefined && now - last < refreshMs) return undefined;
    this.#alertSentAt.set(a.machineId, now);
    const refresh: AlertRefresh = {
      machineId: a.machineId,
      severity: state.severity,
      since: state.since,
      ts: a.ts,
      score: d.score,
      healthScore: d.healthScore,
      contributions: this.#topContributions(batch, k, d),
      modelVersion,
      fallback: d.fallback,
    };
    if (d.rulCycles !== undefined) refresh.rulCycles = d.rulCycles;
    return refresh;
  }

  /** The k-th reading's largest contributions (rules' or the model's), for the rare alert events. */
  #topContributions(batch: ScoringPass, k: number, d: ReadingDecision): Record<string, number> {
    let all: [string, number][];
    if (d.ruleContributions) all = Object.entries(d.ruleContributions);
    else {
      const names = batch.context?.groups.names ?? [];
      const values = batch.scored?.contributions;
      all = values ? names.map((n, g) => [n, values[k * names.length + g]!]) : [];
    }
    all.sort(([, x], [, y]) => Math.abs(y) - Math.abs(x));
    return Object.fromEntries(all.slice(0, TOP_CONTRIBUTIONS));
  }

  /** Same rule as the machine-health store (a change now, a refresh after the interval), applied before the hand-off. */
  #healthDue(
    machineId: string,
    severity: Severity,
    now: number,
    intervalMs: number,
    refreshesPerSecond = Infinity,
  ): boolean {
    const last = this.#healthSent.get(machineId);
    const need = writeNeed(last, severity, now, intervalMs);
    if (need === 'none') return false;
    if (need === 'refresh' && refreshesPerSecond !== Infinity) {
      // Token bucket: refills continuously, holds at most one second of budget (as the store's).
      const bucket = this.#healthBudget;
      bucket.tokens = Math.min(
        refreshesPerSecond,
        bucket.tokens + ((now - bucket.at) * refreshesPerSecond) / 1000,
      );
      bucket.at = now;
      if (bucket.tokens < 1) return false;
      bucket.tokens -= 1;
    }
    if (last) {
      last.at = now;
      last.severity = severity;
    } else this.#healthSent.set(machineId, { at: now, severity });
    return true;
  }

  #finish(batch: ScoringPass, alerts: number): void {
    const predictions = batch.accepted.length;
    const deadLetters = batch.deadLetters.length;
    this.#counts.messages += batch.messages;
    this.#counts.predictions += predictions;
    this.#counts.deadLetters += deadLetters;
    this.#counts.filtered += batch.messages - predictions - deadLetters;
    this.#counts.alerts += alerts;
    this.#counts.batches += 1;
    const end = performance.now();
    this.#blocking.observe(batch.blockingMs + (end - batch.resumed));
    this.#latency.observe(end - batch.started);
  }

  #takeBuffer(size: number): Float32Array {
    // Reused between batches (a 256-row occlusion batch is ~400 KB); concurrent calls each take their own.
    const buffer = this.#buffers.pop();
    if (buffer && buffer.length >= size) return buffer;
    return new Float32Array(Math.max(size, buffer?.length ?? 0));
  }

  setSplit(split: Split | null): void {
    this.#split = split ?? undefined;
  }

  restoreAlerts(states: readonly (readonly [string, AlertState | undefined])[], handedOut: boolean): void {
    const now = this.#now();
    for (const [machineId, state] of states) {
      this.#alerts.restore(machineId, state);
      // A live replica just handed it out: this one refreshes it only an interval later (so replicas
      // that both see a machine do not answer each other's writes). A state left by a replica that is
      // gone is handed out on the first reading.
      if (state && handedOut) this.#alertSentAt.set(machineId, now);
      else this.#alertSentAt.delete(machineId);
    }
  }

  markMaintenance(machineId: string): boolean {
    return this.#windows.markMaintenance(machineId);
  }

  evictIdle(now = this.#now()): string[] {
    this.#lastEviction = now;
    const evicted = this.#windows.evictIdle(now, this.#config.machineTtlSeconds * 1000);
    for (const id of evicted) {
      this.#alerts.forget(id);
      this.#alertSentAt.delete(id);
      this.#healthSent.delete(id);
    }
    return evicted;
  }

  serving(): ServingState {
    return this.#served.serving();
  }

  stats(): PipelineStats {
    const { model, context } = this.#served.current() ?? {};
    const features: Record<string, HistogramSnapshot> = {};
    if (model && context)
      model.inputs.forEach((name, j) => (features[name] = context.features[j]!.snapshot()));
    return {
      schema: 1,
      model: this.#config.model,
      role: this.#config.role,
      serving: this.serving(),
      machines: this.#windows.machineCount,
      counts: { ...this.#counts },
      deadLettersByReason: { ...this.#deadLettersByReason },
      batchLatencyMs: this.#latency.snapshot(),
      batchBlockingMs: this.#blocking.snapshot(),
      ortRunMs: this.#ortRun.snapshot(),
      scores: this.#scores.snapshot(),
      features,
      featureBins: context?.featureBins ?? 'schema',
    };
  }

  swapModel(artifact: ArtifactSpec): Promise<ServingState> {
    return this.#served.swap(artifact);
  }

  sibling(): Pipeline {
    return new InferencePipeline(this.#config, this.#deps, this.#served, false);
  }

  async close(): Promise<void> {
    if (this.#owner) await this.#served.close();
  }

  #maybeEvict(now: number): void {
    const ttlMs = this.#config.machineTtlSeconds * 1000;
    if (now - this.#lastEviction >= Math.min(ttlMs / 10, 60_000)) this.evictIdle(now);
  }
}
