// `prognos-trainer train`: manifests + readings + maintenance events → an ONNX artifact and metrics.
//
//   1. feature rows from the runtime's own decoder, windows and row builder (replay.ts)
//   2. targets from the events, censoring handled deliberately (targets.ts)
//   3. a holdout: held-out machines for RUL, the latest span of time for classification
//   4. LightGBM fit and ONNX export in Python (fit.ts), baseline written into the metadata
//   5. the candidate scored on the holdout by the runtime's pipeline; metrics, and the skew between
//      the runtime's scores and LightGBM's own predictions on the same rows
//   6. the runtime's load check on the final artifact, then the artifact and metrics.json
import { readFile } from 'node:fs/promises';
import type { Task } from '../../contracts/loadCheck.ts';
import { checkLoad } from '../inference/scoring/loadCheck.ts';
import { sha256Hex } from '../inference/scoring/artifact.ts';
import { fitLightGbm, type FitResult } from './fit.ts';
import { readEvents, readReadings, type MaintenanceEvent, type RawMessage } from './jsonLines.ts';
import { readManifests, runtimeConfigOf, type Manifests } from './manifests.ts';
import { appendMetadata, baselineEntry, baselineOf, TRAINING_KEY } from './metadata.ts';
import {
  classificationMetrics,
  regressionMetrics,
  type ClassificationMetrics,
  type RegressionMetrics,
} from './metrics.ts';
import { buildRows, buildTimeline, type FeatureRows, type Timeline } from './replay.ts';
import { scoreWithRuntime } from './runtimeScoring.ts';
import { deriveTargets, type Span, type TargetSpec } from './targets.ts';

/** How to train: the candidate's label, targets, split and LightGBM settings. */
export interface TrainParams {
  /** Version label of the candidate (written into the metrics; the artifact does not carry it). */
  version: string;
  /** RUL cap and unit (regression). */
  rulCap: number;
  rulUnit: Span;
  /** Failure horizon (classification) or the span before a failure that is not normal (anomaly). */
  horizon: Span;
  /** Share of machines (regression) or of the time span (classification) held out. */
  holdout: number;
  seed: number;
  rounds: number;
  params: Record<string, unknown>;
}

/** `train` on files: manifests, JSON-lines readings and events, optionally the serving artifact. */
export interface TrainOptions extends TrainParams {
  fleet: string;
  model: string;
  readings: string;
  events: string;
  /** The serving artifact, scored on the same holdout for comparison. */
  stable?: string;
}

/**
 * What training learns from, wherever it came from (files, or a JetStream replay): the messages as
 * NATS delivers them and the maintenance events, both fed to the same timeline and row builder.
 */
export interface TrainingData {
  manifests: Manifests;
  messages: readonly RawMessage[];
  events: readonly MaintenanceEvent[];
  /** Names the readings' origin in errors (a file, a stream). */
  source: string;
  /** The serving artifact's bytes, scored on the same holdout for comparison. */
  stable?: Uint8Array;
}

export interface TrainReport {
  task: Task;
  version: string;
  inputs: string[];
  sha256: string;
  dataWindow: { from: string; to: string };
  target: TargetSpec;
  rows: {
    readings: number;
    rejected: number;
    labelled: number;
    censoredKept: number;
    censoredDropped: number;
    train: number;
    holdout: number;
  };
  machines: { total: number; holdout: number };
  split: string;
  lightgbm: FitResult['info'] & { rounds: number; params: Record<string, unknown> };
  metrics?: RegressionMetrics | ClassificationMetrics;
  stableMetrics?: RegressionMetrics | ClassificationMetrics;
  /** Largest |runtime score − LightGBM prediction| over the holdout rows. */
  skew?: number;
  timings: { featuresSeconds: number; fitSeconds: number; evaluateSeconds: number; totalSeconds: number };
}

/** Deterministic PRNG (mulberry32) for the machine split. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher-Yates with the seeded PRNG, over the machines sorted by id (file order does not matter). */
export function holdoutMachines(machines: Iterable<string>, share: number, seed: number): Set<string> {
  const ids = [...new Set(machines)].sort();
  const next = random(seed);
  for (let i = ids.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
  }
  return new Set(ids.slice(0, Math.round(ids.length * share)));
}

function targetSpec(task: Task, opts: TrainParams): TargetSpec {
  if (task === 'regression') return { task, cap: opts.rulCap, unit: opts.rulUnit };
  return { task, horizon: opts.horizon };
}

/** Targets of every row (NaN = unknown), machine by machine. */
function rowTargets(rows: FeatureRows, events: readonly MaintenanceEvent[], spec: TargetSpec) {
  const byMachine = new Map<string, number[]>();
  rows.machineIds.forEach((m, i) => {
    const list = byMachine.get(m);
    if (list) list.push(i);
    else byMachine.set(m, [i]);
  });
  const failures = new Map<string, number[]>();
  for (const e of events)
    if (e.event === 'failure')
      (failures.get(e.machineId) ?? failures.set(e.machineId, []).get(e.machineId)!).push(e.ts);
  const targets = new Float64Array(rows.count).fill(NaN);
  let censoredKept = 0;
  let censoredDropped = 0;
  for (const [machine, indices] of byMachine) {
    const t = deriveTargets(
      indices.map((i) => rows.ts[i]!),
      (failures.get(machine) ?? []).sort((a, b) => a - b),
      spec,
    );
    indices.forEach((row, k) => (targets[row] = t.targets[k]!));
    censoredKept += t.censoredKept;
    censoredDropped += t.censoredDropped;
  }
  return { targets, censoredKept, censoredDropped, machines: byMachine.size };
}

function select(rows: FeatureRows, indices: readonly number[]): Float32Array {
  const out = new Float32Array(indices.length * rows.width);
  indices.forEach((r, k) =>
    out.set(rows.rows.subarray(r * rows.width, (r + 1) * rows.width), k * rows.width),
  );
  return out;
}

function metricsOf(
  task: Task,
  scores: ArrayLike<number>,
  truth: ArrayLike<number>,
  machines: readonly string[],
): RegressionMetrics | ClassificationMetrics {
  return task === 'regression'
    ? regressionMetrics(scores, truth, machines)
    : classificationMetrics(scores, truth);
}

/** The runtime's score of each holdout row: the timeline restricted to what the holdout needs, replayed. */
async function runtimeScores(
  manifests: Manifests,
  artifact: Uint8Array,
  timeline: Timeline,
  rows: FeatureRows,
  holdout: readonly number[],
  machines: ReadonlySet<string> | undefined,
  version: string,
): Promise<Float64Array> {
  // Held-out machines replay alone (their windows depend only on their own readings); a time split
  // replays everything, since the holdout rows' windows reach back before the cutoff.
  const items = machines
    ? timeline.items.filter((i) => machines.has(i.kind === 'reading' ? i.machineId : i.event.machineId))
    : timeline.items;
  const predictions = await scoreWithRuntime(
    manifests,
    artifact,
    { ...timeline, items },
    { version, explain: false },
  );
  const replayed = machines
    ? rows.machineIds.flatMap((m, i) => (machines.has(m) ? [i] : []))
    : rows.machineIds.map((_, i) => i);
  if (predictions.length !== replayed.length)
    throw new Error(
      `the runtime scored ${predictions.length} readings, the trainer built ${replayed.length} rows`,
    );
  const scoreOf = new Float64Array(rows.count).fill(NaN);
  replayed.forEach((row, k) => {
    const p = predictions[k]!;
    if (p.machineId !== rows.machineIds[row] || p.ts !== rows.ts[row])
      throw new Error(`prediction ${k} (${p.machineId}@${p.ts}) is not row ${row}'s reading`);
    scoreOf[row] = p.score;
  });
  return Float64Array.from(holdout, (r) => scoreOf[r]!);
}

/** One holdout row: its target, LightGBM's own prediction and the runtime's score. */
export interface HoldoutRow {
  machineId: string;
  ts: number;
  target: number;
  lightgbm: number;
  runtime: number;
}

export interface TrainOutput {
  artifact: Uint8Array;
  report: TrainReport;
  holdout: HoldoutRow[];
}

/** `prognos-trainer train`: reads the files, then trains as from any source. */
export async function train(opts: TrainOptions): Promise<TrainOutput> {
  const started = performance.now();
  const manifests = await readManifests(opts.fleet, opts.model);
  const [messages, events, stable] = await Promise.all([
    readReadings(opts.readings, manifests.fleet),
    readEvents(opts.events, manifests.fleet),
    opts.stable ? readFile(opts.stable) : undefined,
  ]);
  return trainOn(
    {
      manifests,
      messages,
      events,
      source: opts.readings,
      ...(stable ? { stable: new Uint8Array(stable) } : {}),
    },
    opts,
    started,
  );
}

export function assertTrainable(task: Task): asserts task is 'regression' | 'classification' {
  if (task === 'anomaly')
    throw new Error('task anomaly: the trainer fits regression and classification models so far');
}

/** Rows, targets, split, fit, evaluation and the artifact; `started` is when reading the data began. */
export async function trainOn(
  data: TrainingData,
  opts: TrainParams,
  started = performance.now(),
): Promise<TrainOutput> {
  const { manifests, events } = data;
  const { spec } = manifests.model;
  const task = spec.task;
  assertTrainable(task);
  const config = runtimeConfigOf(manifests);
  const inputs = [...spec.model.inputs];
  const timeline = buildTimeline(config, data.messages, events, Date.now());
  const rows = buildRows(config, inputs, timeline);
  if (rows.count === 0) throw new Error(`${data.source}: no reading the fleet's schema accepts`);
  const target = targetSpec(task, opts);
  const { targets, censoredKept, censoredDropped, machines } = rowTargets(rows, events, target);
  const featuresSeconds = (performance.now() - started) / 1000;

  const labelled = [...targets.keys()].filter((i) => !Number.isNaN(targets[i]!));
  let heldOut: Set<string> | undefined;
  let isHoldout: (row: number) => boolean;
  let split: string;
  if (task === 'regression') {
    heldOut = holdoutMachines(rows.machineIds, opts.holdout, opts.seed);
    isHoldout = (r) => heldOut!.has(rows.machineIds[r]!);
    split = `by machine: ${heldOut.size} of ${machines} held out (seed ${opts.seed})`;
  } else {
    const times = labelled.map((i) => rows.ts[i]!).sort((a, b) => a - b);
    const cutoff = times[Math.min(times.length - 1, Math.floor(times.length * (1 - opts.holdout)))]!;
    isHoldout = (r) => opts.holdout > 0 && rows.ts[r]! >= cutoff;
    split = `by time: readings from ${new Date(cutoff).toISOString()} held out`;
  }
  const trainRows = labelled.filter((r) => !isHoldout(r));
  const holdoutRows = labelled.filter(isHoldout);
  if (trainRows.length === 0) throw new Error('no labelled training rows: check the events and the holdout');
  const trainX = select(rows, trainRows);
  const holdoutX = select(rows, holdoutRows);

  const fitStarted = performance.now();
  const fit = await fitLightGbm({
    task,
    width: rows.width,
    train: { rows: trainX, targets: Float64Array.from(trainRows, (r) => targets[r]!) },
    predict: [holdoutX],
    params: { seed: opts.seed, num_threads: 2, ...opts.params },
    rounds: opts.rounds,
  });
  const fitSeconds = (performance.now() - fitStarted) / 1000;
  const baseline = baselineOf(inputs, trainX, trainRows.length);
  const candidate = appendMetadata(fit.onnx, baselineEntry(baseline));

  const evaluateStarted = performance.now();
  let metrics: TrainReport['metrics'];
  let stableMetrics: TrainReport['stableMetrics'];
  let skew: number | undefined;
  const holdout: HoldoutRow[] = [];
  if (holdoutRows.length > 0) {
    const truth = Float64Array.from(holdoutRows, (r) => targets[r]!);
    const holdoutMachineIds = holdoutRows.map((r) => rows.machineIds[r]!);
    const scores = await runtimeScores(
      manifests,
      candidate,
      timeline,
      rows,
      holdoutRows,
      heldOut,
      opts.version,
    );
    metrics = metricsOf(task, scores, truth, holdoutMachineIds);
    const lightgbm = fit.predictions[0]!;
    skew = scores.reduce((m, s, k) => Math.max(m, Math.abs(s - lightgbm[k]!)), 0);
    holdoutRows.forEach((r, k) =>
      holdout.push({
        machineId: rows.machineIds[r]!,
        ts: rows.ts[r]!,
        target: truth[k]!,
        lightgbm: lightgbm[k]!,
        runtime: scores[k]!,
      }),
    );
    if (data.stable) {
      const stableScores = await runtimeScores(
        manifests,
        data.stable,
        timeline,
        rows,
        holdoutRows,
        heldOut,
        'stable',
      );
      stableMetrics = metricsOf(task, stableScores, truth, holdoutMachineIds);
    }
  }
  const evaluateSeconds = (performance.now() - evaluateStarted) / 1000;

  const from = rows.ts.reduce((a, b) => Math.min(a, b), Infinity);
  const to = rows.ts.reduce((a, b) => Math.max(a, b), -Infinity);
  const report: Omit<TrainReport, 'sha256' | 'timings'> = {
    task,
    version: opts.version,
    inputs,
    dataWindow: { from: new Date(from).toISOString(), to: new Date(to).toISOString() },
    target,
    rows: {
      readings: rows.count,
      rejected: timeline.rejected,
      labelled: labelled.length,
      censoredKept,
      censoredDropped,
      train: trainRows.length,
      holdout: holdoutRows.length,
    },
    machines: { total: machines, holdout: heldOut?.size ?? 0 },
    split,
    lightgbm: { ...fit.info, rounds: opts.rounds, params: opts.params },
    ...(metrics ? { metrics } : {}),
    ...(stableMetrics ? { stableMetrics } : {}),
    ...(skew !== undefined ? { skew } : {}),
  };
  const artifact = appendMetadata(candidate, { [TRAINING_KEY]: JSON.stringify(report) });
  // The operator refuses what the runtime cannot load: check the final bytes the same way.
  const check = await checkLoad(artifact, {
    version: opts.version,
    uri: 'trainer',
    sha256: sha256Hex(artifact),
    task,
    inputs,
  });
  if (!check.ok)
    throw new Error(`the artifact fails the runtime's load check: ${check.reason}: ${check.message}`);
  const totalSeconds = (performance.now() - started) / 1000;
  const round = (s: number) => Math.round(s * 1000) / 1000;
  return {
    artifact,
    holdout,
    report: {
      ...report,
      sha256: sha256Hex(artifact),
      timings: {
        featuresSeconds: round(featuresSeconds),
        fitSeconds: round(fitSeconds),
        evaluateSeconds: round(evaluateSeconds),
        totalSeconds: round(totalSeconds),
      },
    },
  };
}
