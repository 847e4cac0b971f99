// Drift detection's false triggers and detection delay, naive (readings taken as independent) vs
// corrected (effective sample size, docs/drift.md), through the operator's own DriftDetector fed
// telemetry summaries binned by the runtime's Histogram over a baseline built by the trainer's
// baselineOf. Prints one JSON object; every figure sits beside its target.
//   scripts/node24 bench/drift.ts [--seed 1] [--trials 300]
// Data (../shared/datasets, never copied into the repository; a part is skipped when absent):
// - synthetic AR(1) ρ = 0.7 (and ρ = 0 as control): false-alarm rate of one assessment, test only;
// - SKAB anomaly-free.csv (1 Hz, one rig): baseline from the first 40% of rows, windows from the rest;
// - C-MAPSS FD001 early life (cycles more than 125 before failure): baseline from engines 1–50,
//   windows from engines 51–100 replayed in parallel, one cycle per telemetry interval.
// Detection delay: every input in turn shifted by k·σ (σ of the baseline) from an onset in the
// middle of the windows part; the delay is from onset to the first assessment that flags that input.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Baseline } from '../contracts/modelBaseline.ts';
import type { TelemetryMessage } from '../contracts/telemetry.ts';
import type { DriftMethod } from '../operator/controllers/retrainPolicy/drift/assessment.ts';
import type { DriftTrigger } from '../operator/controllers/retrainPolicy/drift/assessDrift.ts';
import { DriftDetector } from '../operator/controllers/retrainPolicy/drift/detector.ts';
import { DriftWindows } from '../operator/controllers/retrainPolicy/drift/window.ts';
import { ksDistance } from '../operator/controllers/retrainPolicy/drift/statistics.ts';
import { Histogram } from '../runtimes/inference/features/histogram.ts';
import { baselineOf } from '../runtimes/trainer/metadata.ts';
import { FD001, readFd001 } from '../test/integration/cmapssFiles.ts';

const { values } = parseArgs({ options: { seed: { type: 'string' }, trials: { type: 'string' } } });
const SEED = Number(values.seed ?? 1);
const TRIALS = Number(values.trials ?? 300);
const DATASETS = join(import.meta.dirname, '..', '..', 'shared', 'datasets');
const INTERVAL_MS = 10_000;
const T0 = Date.UTC(2026, 0, 1);
const METHODS: DriftMethod[] = ['psi', 'ks', 'wasserstein'];
/** Policy thresholds (inputs standardised by the baseline, so wasserstein is in σ). */
const POLICY: Record<DriftMethod, number> = { psi: 0.2, ks: 0.1, wasserstein: 0.25 };
/** A threshold that never binds: only the statistical test decides. */
const TEST_ONLY = 1e-9;

function gaussians(seed: number) {
  let s = seed >>> 0 || 1;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 1) / (2 ** 32 + 1);
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

/** Rows (readings × inputs) of one telemetry interval. */
type Interval = number[][];

interface Standardised {
  inputs: string[];
  baseline: Baseline;
  /** Standardised rows of the windows part, one entry per telemetry interval. */
  intervals: Interval[];
}

/** Standardises by the baseline rows' mean and σ, then builds the trainer's baseline (decile bins). */
function prepare(inputs: string[], baselineRows: number[][], intervals: Interval[]): Standardised {
  const w = inputs.length;
  const mean = inputs.map((_, j) => baselineRows.reduce((a, r) => a + r[j]!, 0) / baselineRows.length);
  const sd = inputs.map((_, j) =>
    Math.sqrt(baselineRows.reduce((a, r) => a + (r[j]! - mean[j]!) ** 2, 0) / (baselineRows.length - 1)),
  );
  // float32, as the runtime's feature rows and the trainer's baseline are: a value on a bin edge
  // lands in the same bin on both sides.
  const std = (r: number[]) => r.map((v, j) => Math.fround(sd[j]! > 0 ? (v - mean[j]!) / sd[j]! : 0));
  const flat = new Float32Array(baselineRows.length * w);
  baselineRows.forEach((r, i) => flat.set(std(r), i * w));
  return {
    inputs,
    baseline: baselineOf(inputs, flat, baselineRows.length),
    intervals: intervals.map((rows) => rows.map(std)),
  };
}

function message(baseline: Baseline, inputs: string[], rows: Interval, k: number): TelemetryMessage {
  const features: TelemetryMessage['features'] = {};
  inputs.forEach((name, j) => {
    const edges = baseline.bins?.[name];
    if (!edges) return;
    const h = new Histogram(edges);
    for (const r of rows) h.observe(r[j]!);
    features[name] = h.snapshot();
  });
  return {
    schema: 1,
    namespace: 'bench',
    model: 'm',
    version: 'v1',
    role: 'stable',
    instance: 'replica-0',
    from: T0 + k * INTERVAL_MS,
    to: T0 + (k + 1) * INTERVAL_MS,
    features,
    scores: { edges: [0.5], counts: [0, 0], count: 0, sum: 0 },
    featureBins: 'baseline',
  } as unknown as TelemetryMessage;
}

interface Replay {
  judged: number;
  drifting: number;
  /** Transitions into drifting. */
  onsets: number;
  /** Inputs flagged in any assessment, with how many assessments flagged them. */
  flagged: Record<string, number>;
  /** ms from onset to the first assessment flagging `watch`. */
  delayMs?: number;
}

function replay(
  data: Standardised,
  trigger: DriftTrigger,
  correction: boolean,
  opts: { assessEvery?: number; shift?: { input: number; k: number; fromInterval: number } } = {},
): Replay {
  const detector = new DriftDetector({
    windows: new DriftWindows({ bucketMs: INTERVAL_MS }),
    assess: { correction },
  });
  detector.setBaseline('bench', 'm', 'v1', data.baseline);
  const out: Replay = { judged: 0, drifting: 0, onsets: 0, flagged: {} };
  let was = false;
  const every = opts.assessEvery ?? 1;
  const watched = opts.shift ? data.inputs[opts.shift.input] : undefined;
  data.intervals.forEach((rows, k) => {
    const shifted =
      opts.shift && k >= opts.shift.fromInterval
        ? rows.map((r) => r.map((v, j) => (j === opts.shift!.input ? Math.fround(v + opts.shift!.k) : v)))
        : rows;
    detector.observe(message(data.baseline, data.inputs, shifted, k));
    if ((k + 1) % every !== 0) return;
    const now = new Date(T0 + (k + 1) * INTERVAL_MS);
    const a = detector.assess('bench', 'm', trigger, now)!;
    if (!a.judged) return;
    out.judged++;
    if (a.drifting) out.drifting++;
    for (const f of a.features) if (f.drifting) out.flagged[f.name] = (out.flagged[f.name] ?? 0) + 1;
    if (a.drifting && !was) out.onsets++;
    was = a.drifting;
    if (
      opts.shift &&
      out.delayMs === undefined &&
      k + 1 > opts.shift.fromInterval &&
      a.features.some((f) => f.name === watched && f.drifting)
    )
      out.delayMs = (k + 1 - opts.shift.fromInterval) * INTERVAL_MS;
  });
  return out;
}

const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0
    ? null
    : s.length % 2
      ? s[(s.length - 1) / 2]!
      : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** False triggers on the unshifted windows part, per method, naive vs corrected, policy and test-only thresholds. */
function stationary(data: Standardised, trigger: Omit<DriftTrigger, 'method' | 'threshold'>, every: number) {
  const out: Record<string, unknown> = {};
  for (const method of METHODS) {
    for (const [label, threshold] of [
      ['policy', POLICY[method]],
      ['testOnly', TEST_ONLY],
    ] as const) {
      const row: Record<string, unknown> = { threshold };
      for (const correction of [false, true]) {
        const r = replay(data, { ...trigger, method, threshold }, correction, { assessEvery: every });
        row[correction ? 'corrected' : 'naive'] = {
          falseTriggers: r.onsets,
          target: 0,
          assessments: r.judged,
          driftingShare: round(r.drifting / Math.max(1, r.judged)),
          flagged: r.flagged,
        };
      }
      out[`${method}.${label}`] = row;
    }
  }
  return out;
}

/** Median (over inputs) delay after a k·σ offset, in seconds and as a share of the window (target ≤ 1). */
function delays(
  data: Standardised,
  trigger: Omit<DriftTrigger, 'method' | 'threshold'>,
  every: number,
  fromInterval: number,
) {
  const windowMs = data.intervals.length > 0 ? parseWindow(trigger.window!) : 0;
  const out: Record<string, unknown> = {};
  for (const method of METHODS) {
    for (const k of [0.5, 1, 2]) {
      const row: Record<string, unknown> = {};
      for (const correction of [false, true]) {
        const found: number[] = [];
        let missed = 0;
        data.inputs.forEach((name, input) => {
          if (!data.baseline.bins?.[name]) return;
          const r = replay(data, { ...trigger, method, threshold: POLICY[method] }, correction, {
            assessEvery: every,
            shift: { input, k, fromInterval },
          });
          if (r.delayMs === undefined) missed++;
          else found.push(r.delayMs);
        });
        const med = median(found);
        row[correction ? 'corrected' : 'naive'] = {
          medianDelaySeconds: med === null ? null : med / 1000,
          medianDelayWindows: med === null ? null : round(med / windowMs),
          target: '≤ 1 window',
          detected: found.length,
          missed,
        };
      }
      out[`${method}.k${k}`] = row;
    }
  }
  return out;
}

function parseWindow(text: string): number {
  const m = /^(\d+)(m|s)$/.exec(text)!;
  return Number(m[1]) * (m[2] === 'm' ? 60_000 : 1_000);
}

/** One assessment per trial of a fresh AR(1) window against a baseline of independent draws. */
function synthetic(rho: number, perInterval: number) {
  const intervals = 240;
  const g = gaussians(SEED * 7919 + Math.round(rho * 100) + perInterval);
  const baselineRows = Array.from({ length: 20_000 }, () => [g()]);
  const out: Record<string, unknown> = {
    rho,
    perInterval,
    readings: intervals * perInterval,
    trials: TRIALS,
  };
  const data0 = prepare(['x'], baselineRows, []);
  const trigger = { window: '40m', minSamples: Math.min(1000, intervals * perInterval) };
  const counts: Record<string, number> = {};
  for (let t = 0; t < TRIALS; t++) {
    let x = g();
    const rows: Interval[] = Array.from({ length: intervals }, () =>
      Array.from({ length: perInterval }, () => [(x = rho * x + Math.sqrt(1 - rho * rho) * g())]),
    );
    // Standardised by the baseline's (≈ 0, 1) moments like the real data.
    const data = { ...data0, intervals: prepare(['x'], baselineRows, rows).intervals };
    for (const method of METHODS) {
      for (const correction of [false, true]) {
        const r = replay(data, { ...trigger, method, threshold: TEST_ONLY }, correction, {
          assessEvery: intervals,
        });
        const key = `${method}.${correction ? 'corrected' : 'naive'}`;
        counts[key] = (counts[key] ?? 0) + (r.drifting > 0 ? 1 : 0);
      }
    }
  }
  for (const method of METHODS) {
    out[method] = {
      naive: round(counts[`${method}.naive`]! / TRIALS),
      corrected: round(counts[`${method}.corrected`]! / TRIALS),
      target: 'corrected ≤ 0.05–0.10 (alpha 0.05)',
    };
  }
  return out;
}

/** 10-minute blocks of SKAB's anomaly-free run: even blocks are the baseline, odd ones are replayed. */
const SKAB_BLOCK = 600;

function skab(): Standardised | undefined {
  const file = join(DATASETS, 'skab', 'anomaly-free.csv');
  if (!existsSync(file)) return undefined;
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  const inputs = lines[0]!.trim().split(';').slice(1);
  const rows = lines.slice(1).map((l) => l.split(';').slice(1).map(Number));
  const block = (i: number) => Math.floor(i / SKAB_BLOCK) % 2;
  const replayed = rows.filter((_, i) => block(i) === 1);
  const intervals: Interval[] = [];
  // 1 Hz: a 10 s telemetry interval holds 10 readings.
  for (let i = 0; i + 10 <= replayed.length; i += 10) intervals.push(replayed.slice(i, i + 10));
  return prepare(
    inputs,
    rows.filter((_, i) => block(i) === 0),
    intervals,
  );
}

/** First-half split of SKAB (baseline: first 40%, windows: the rest): what moves slowly on the rig. */
function skabSplit() {
  const file = join(DATASETS, 'skab', 'anomaly-free.csv');
  if (!existsSync(file)) return undefined;
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  const inputs = lines[0]!.trim().split(';').slice(1);
  const rows = lines.slice(1).map((l) => l.split(';').slice(1).map(Number));
  const cut = Math.floor(rows.length * 0.4);
  const data = prepare(inputs, rows.slice(0, cut), []);
  const ks: Record<string, number> = {};
  inputs.forEach((name, j) => {
    const edges = data.baseline.bins?.[name];
    if (!edges) return;
    const mean = rows.slice(0, cut).reduce((a, r) => a + r[j]!, 0) / cut;
    const sd = Math.sqrt(rows.slice(0, cut).reduce((a, r) => a + (r[j]! - mean) ** 2, 0) / (cut - 1));
    const h = new Histogram(edges);
    for (const r of rows.slice(cut)) h.observe(sd > 0 ? (r[j]! - mean) / sd : 0);
    ks[name] = round(ksDistance(data.baseline.histograms![name]!, Array.from(h.counts)));
  });
  return ks;
}

/**
 * C-MAPSS FD001 early life (cycles more than 125 before failure) of all 100 engines: odd cycles are
 * the baseline, even cycles are replayed with every engine in parallel, one cycle per interval.
 */
function cmapss(): Standardised | undefined {
  if (!existsSync(FD001)) return undefined;
  const engines = readFd001();
  const early = [...engines.values()].map((cycles) => cycles.filter((c) => cycles.length - c.cycle > 125));
  const baselineRows = early.flatMap((cycles) =>
    cycles.filter((c) => c.cycle % 2 === 1).map((c) => c.values),
  );
  const replayed = early.map((cycles) => cycles.filter((c) => c.cycle % 2 === 0));
  const longest = Math.max(...replayed.map((c) => c.length));
  const intervals: Interval[] = [];
  for (let k = 0; k < longest; k++) {
    const rows = replayed.flatMap((c) => (k < c.length ? [c[k]!.values] : []));
    if (rows.length > 0) intervals.push(rows);
  }
  const inputs = [
    't24',
    't30',
    't50',
    'p30',
    'nf',
    'nc',
    'ps30',
    'phi',
    'nrf',
    'nrc',
    'bpr',
    'htbleed',
    'w31',
    'w32',
  ];
  return prepare(inputs, baselineRows, intervals);
}

const started = performance.now();
const result: Record<string, unknown> = {
  benchmark: 'drift',
  seed: SEED,
  alpha: 0.05,
  policyThresholds: POLICY,
  synthetic: [synthetic(0.7, 5), synthetic(0.7, 50), synthetic(0, 5)],
};
const s = skab();
if (s) {
  const trigger = { window: '10m', minSamples: 500 };
  result.skab = {
    protocol: 'baseline: even 10-minute blocks of anomaly-free.csv; windows: the odd blocks, replayed',
    splitKs: { note: 'KS of the first 40% (baseline) vs the rest: the rig moves slowly', ...skabSplit() },
    rows: { windows: s.intervals.length * 10 },
    trigger,
    stationary: stationary(s, trigger, 6),
    delay: delays(s, trigger, 6, Math.floor(s.intervals.length / 2)),
  };
} else result.skab = { skipped: `${join(DATASETS, 'skab')} is absent` };
const c = cmapss();
if (c) {
  const trigger = { window: '200s', minSamples: 300 };
  result.cmapss = {
    protocol:
      'early life (RUL > 125) of all 100 engines; baseline: odd cycles; windows: even cycles, engines in parallel',
    intervals: c.intervals.length,
    trigger,
    stationary: stationary(c, trigger, 1),
    // Onset after two full windows, while most engines are still in early life.
    delay: delays(c, trigger, 1, 40),
  };
} else result.cmapss = { skipped: `${FD001} is absent` };
result.seconds = round((performance.now() - started) / 1000, 1);
console.log(JSON.stringify(result, null, 2));
