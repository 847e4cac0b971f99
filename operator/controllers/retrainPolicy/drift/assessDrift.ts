/**
 * The drift verdict for one model version: per watched input (and the score distribution), the
 * policy's distance between the window's summed telemetry histograms and the reference, judged
 * against the policy's threshold raised to what sampling noise alone reaches at the window's
 * effective sample size (docs/drift.md). Pure: the detector (detector.ts) supplies window, reference
 * and the previous assessment.
 */
import type { HistogramSnapshot } from '../../../../contracts/telemetry.ts';
import type { Baseline } from '../../../../contracts/modelBaseline.ts';
import { parseDuration } from '../../../api/duration.ts';
import type { RetrainPolicySpec } from '../../../api/retrainPolicy.ts';
import type { DriftAssessment, DriftMethod, FeatureDrift } from './assessment.ts';
import { designEffect, type IntervalHistogram } from './effectiveSampleSize.ts';
import { DRIFT_ALPHA, ksCritical, psiCritical, wassersteinCritical } from './significance.ts';
import { ksDistance, psi, wasserstein1 } from './statistics.ts';
import type { DriftInterval } from './window.ts';

export type DriftTrigger = NonNullable<RetrainPolicySpec['triggers']['drift']>;

/** The name prediction drift is reported under. */
export const SCORE = 'score';
export const DEFAULT_WINDOW = '1h';
export const DEFAULT_MIN_SAMPLES = 1000;

/**
 * Captured from the first full window after a version started serving: the design effect of each
 * input (autocorrelation is estimated where the data are assumed stationary, so a later shift cannot
 * inflate it and hide itself) and the score distribution prediction drift is compared with (the
 * baseline has no score histogram).
 */
export interface DriftReference {
  /** Epoch ms of the capture. */
  at: number;
  designEffects: Record<string, number>;
  scores?: { edges: number[]; counts: number[]; samples: number; designEffect: number };
}

export interface DriftWindow {
  version: string;
  /** Epoch ms the version was first seen serving. */
  firstSeen: number;
  intervals: readonly DriftInterval[];
  reference?: DriftReference;
}

export interface AssessOptions {
  /** Family-wise false-alarm rate of one assessment (default DRIFT_ALPHA), split over the features. */
  alpha?: number;
  /** false: treat readings as independent (the naive test; benchmarks compare the two). */
  correction?: boolean;
}

interface Summed {
  edges: number[];
  counts: number[];
  samples: number;
  intervals: IntervalHistogram[];
}

function windowMs(trigger: DriftTrigger): number {
  return parseDuration(trigger.window ?? DEFAULT_WINDOW);
}

function inWindow(intervals: readonly DriftInterval[], from: number, to: number): DriftInterval[] {
  return intervals.filter((i) => i.end > from && i.start < to);
}

/** Sums the histograms `pick` gives over the intervals, keeping those with `edges` (or the first's). */
function sum(
  intervals: readonly DriftInterval[],
  pick: (i: DriftInterval) => HistogramSnapshot | undefined,
  edges?: readonly number[],
): Summed | undefined {
  let out: Summed | undefined;
  for (const i of intervals) {
    const h = pick(i);
    if (!h) continue;
    const want = edges ?? out?.edges ?? h.edges;
    if (h.edges.length !== want.length || h.edges.some((e, k) => e !== want[k])) continue;
    out ??= {
      edges: [...want],
      counts: new Array<number>(want.length + 1).fill(0),
      samples: 0,
      intervals: [],
    };
    for (let k = 0; k < h.counts.length; k++) out.counts[k]! += h.counts[k]!;
    out.samples += h.count;
    out.intervals.push(h);
  }
  return out;
}

function distance(method: DriftMethod, edges: number[], ref: number[], win: number[]): number {
  if (method === 'ks') return ksDistance(ref, win);
  if (method === 'wasserstein') return wasserstein1(edges, ref, win);
  return psi(ref, win);
}

function critical(
  method: DriftMethod,
  alpha: number,
  edges: number[],
  ref: number[],
  n: number,
  m: number,
): number {
  if (method === 'ks') return ksCritical(alpha, n, m);
  if (method === 'wasserstein') return wassersteinCritical(alpha, edges, ref, n, m);
  const bins = ref.filter((c) => c > 0).length;
  return psiCritical(alpha, bins, n, m);
}

/** The reference, once the version has served a whole window with at least minSamples readings. */
export function referenceOf(
  window: DriftWindow,
  trigger: DriftTrigger,
  now: number,
): DriftReference | undefined {
  const span = windowMs(trigger);
  if (window.firstSeen > now - span) return undefined;
  const intervals = inWindow(window.intervals, now - span, now);
  const names = new Set(intervals.flatMap((i) => Object.keys(i.features)));
  const designEffects: Record<string, number> = {};
  let readings = 0;
  for (const name of names) {
    const s = sum(intervals, (i) => i.features[name]);
    if (!s) continue;
    readings = Math.max(readings, s.samples);
    designEffects[name] = designEffect(s.intervals).designEffect;
  }
  const scores = sum(intervals, (i) => i.scores);
  readings = Math.max(readings, scores?.samples ?? 0);
  if (readings < (trigger.minSamples ?? DEFAULT_MIN_SAMPLES)) return undefined;
  return {
    at: now,
    designEffects,
    ...(scores && scores.samples > 0
      ? {
          scores: {
            edges: scores.edges,
            counts: scores.counts,
            samples: scores.samples,
            designEffect: designEffect(scores.intervals).designEffect,
          },
        }
      : {}),
  };
}

interface Compared {
  name: string;
  edges: number[];
  reference: number[];
  referenceSamples: number;
  window: Summed | undefined;
  /** From the reference when captured, else the window's own (which a shift inside it inflates). */
  designEffect: number;
}

export function assessDrift(
  baseline: Baseline | undefined,
  window: DriftWindow,
  trigger: DriftTrigger,
  now: Date,
  previous?: DriftAssessment,
  options: AssessOptions = {},
): DriftAssessment {
  const t = now.getTime();
  const time = now.toISOString();
  const method = trigger.method ?? 'psi';
  const minSamples = trigger.minSamples ?? DEFAULT_MIN_SAMPLES;
  const intervals = inWindow(window.intervals, t - windowMs(trigger), t);
  const corrected = options.correction !== false;
  const ownDesignEffect = (s: Summed | undefined) =>
    corrected && s ? designEffect(s.intervals).designEffect : 1;

  const compared: Compared[] = [];
  for (const name of trigger.features ?? baseline?.inputs ?? []) {
    const edges = baseline?.bins?.[name];
    const reference = baseline?.histograms?.[name];
    if (!edges || !reference) continue;
    const s = sum(intervals, (i) => i.features[name], edges);
    compared.push({
      name,
      edges,
      reference,
      referenceSamples: reference.reduce((a, b) => a + b, 0),
      window: s,
      designEffect: corrected ? (window.reference?.designEffects[name] ?? ownDesignEffect(s)) : 1,
    });
  }
  const refScores = window.reference?.scores;
  if (refScores) {
    const s = sum(intervals, (i) => i.scores, refScores.edges);
    compared.push({
      name: SCORE,
      edges: refScores.edges,
      reference: refScores.counts,
      // The reference window is autocorrelated too: it counts at its own effective size.
      referenceSamples: refScores.samples / (corrected ? refScores.designEffect : 1),
      window: s,
      designEffect: corrected ? refScores.designEffect : 1,
    });
  }

  const readings = Math.max(0, ...compared.map((c) => c.window?.samples ?? 0));
  const reason = !baseline
    ? 'the serving version has no training baseline (prognos.baseline) to compare with'
    : compared.length === 0
      ? 'no watched input has baseline bins and histograms'
      : readings < minSamples
        ? `the window holds ${readings} of the ${minSamples} readings needed`
        : undefined;
  const judged = reason === undefined;
  const alpha = (options.alpha ?? DRIFT_ALPHA) / Math.max(1, compared.length);
  const before = previous?.version === window.version ? previous : undefined;

  const features: (FeatureDrift & { ratio: number })[] = compared.map((c) => {
    const n = c.window?.samples ?? 0;
    const nEff = n / Math.max(1, c.designEffect);
    const score = n > 0 && c.window ? distance(method, c.edges, c.reference, c.window.counts) : 0;
    const noise =
      n > 0 && c.referenceSamples > 0
        ? critical(method, alpha, c.edges, c.reference, nEff, c.referenceSamples)
        : Infinity;
    const threshold = Math.max(trigger.threshold, noise);
    const drifting = judged && score > threshold;
    const last = before?.features.find((f) => f.name === c.name);
    return {
      name: c.name,
      method,
      score,
      threshold: Number.isFinite(threshold) ? threshold : trigger.threshold,
      samples: n,
      effectiveSamples: Math.round(nEff),
      drifting,
      ...(drifting ? { since: last?.drifting && last.since ? last.since : time } : {}),
      ratio: Number.isFinite(threshold) ? score / threshold : 0,
    };
  });
  features.sort((a, b) => b.ratio - a.ratio || a.name.localeCompare(b.name));
  return {
    time,
    version: window.version,
    judged,
    ...(reason ? { reason } : {}),
    drifting: features.some((f) => f.drifting),
    features: features.map(({ ratio: _ratio, ...f }) => f),
  };
}
