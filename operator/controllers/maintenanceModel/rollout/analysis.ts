// One analysis interval of a version under rollout, from the runtimes' telemetry (no Prometheus):
// error rate, dead-letter rate, p99 scoring latency, score divergence from the stable and, for a
// shadow, agreement with the stable on the same readings, each against its limit in
// spec.rollout.analysis. Pure: the reconciler hands in what the book measured.
import type { MaintenanceModel } from '../../../api/maintenanceModel.ts';
import type { HistogramSnapshot } from '../../../../contracts/telemetry.ts';

type AnalysisSpec = NonNullable<MaintenanceModel['spec']['rollout']>['analysis'];

/** What one role's runtimes reported over an interval, summed over replicas and windows. */
export interface Measurement {
  messages: number;
  predictions: number;
  deadLetters: number;
  /** Readings the fallback rules scored: a failed run, a NaN output or no model. */
  fallback: number;
  latencyMs: HistogramSnapshot | undefined;
  scores: HistogramSnapshot | undefined;
  /** A shadow's readings paired with the stable's prediction, and those the two agreed on. */
  shadowCompared: number;
  shadowAgreed: number;
}

export const EMPTY_MEASUREMENT: Measurement = {
  messages: 0,
  predictions: 0,
  deadLetters: 0,
  fallback: 0,
  shadowCompared: 0,
  shadowAgreed: 0,
  latencyMs: undefined,
  scores: undefined,
};

export type Verdict = 'Passed' | 'Failed' | 'Inconclusive';

export interface IntervalResult {
  samples: number;
  verdict: Verdict;
  errorRate?: number;
  deadLetterRate?: number;
  p99LatencyMs?: number;
  scoreDivergence?: number;
  shadowAgreement?: number;
  message?: string;
}

/** Adds two snapshots of the same edges; undefined when either is missing or the edges differ. */
export function mergeHistograms(
  a: HistogramSnapshot | undefined,
  b: HistogramSnapshot | undefined,
): HistogramSnapshot | undefined {
  if (!a) return b && { ...b, counts: [...b.counts], edges: [...b.edges] };
  if (!b) return a;
  if (a.edges.length !== b.edges.length || a.edges.some((e, i) => e !== b.edges[i])) return undefined;
  return {
    edges: a.edges,
    counts: a.counts.map((c, i) => c + (b.counts[i] ?? 0)),
    count: a.count + b.count,
    sum: a.sum + b.sum,
  };
}

/**
 * The q-quantile's bucket, reported as its upper edge (an upper bound; the overflow bucket reports the
 * last edge, the most the histogram can say).
 */
export function histogramQuantile(h: HistogramSnapshot, q: number): number | undefined {
  if (h.count <= 0) return undefined;
  const rank = q * h.count;
  let seen = 0;
  for (let i = 0; i < h.counts.length; i++) {
    seen += h.counts[i]!;
    if (seen >= rank) return h.edges[Math.min(i, h.edges.length - 1)];
  }
  return h.edges.at(-1);
}

/** Kolmogorov-Smirnov distance between two histograms of the same edges: the largest CDF gap. */
export function ksDistance(a: HistogramSnapshot, b: HistogramSnapshot): number | undefined {
  if (a.count <= 0 || b.count <= 0) return undefined;
  if (a.edges.length !== b.edges.length || a.edges.some((e, i) => e !== b.edges[i])) return undefined;
  let ca = 0;
  let cb = 0;
  let d = 0;
  for (let i = 0; i < a.counts.length; i++) {
    ca += a.counts[i]!;
    cb += b.counts[i] ?? 0;
    d = Math.max(d, Math.abs(ca / a.count - cb / b.count));
  }
  return d;
}

const round = (x: number): number => Math.round(x * 10_000) / 10_000;

/**
 * Judges one interval. Fewer than minSamples readings scored by the new version is Inconclusive,
 * never Passed: an idle canary proves nothing. Dead letters are judged against the stable's own rate
 * (both decode the same kind of readings), by the same margin as errors.
 */
export function judgeInterval(
  spec: AnalysisSpec,
  candidate: Measurement,
  stable: Measurement,
): IntervalResult {
  const samples = candidate.predictions;
  if (samples < spec.minSamples)
    return {
      samples,
      verdict: 'Inconclusive',
      message: `${samples} readings scored, fewer than minSamples ${spec.minSamples}`,
    };
  const result: IntervalResult = { samples, verdict: 'Passed' };
  const failures: string[] = [];
  result.errorRate = round(candidate.fallback / samples);
  if (result.errorRate > spec.maxErrorRate)
    failures.push(`errorRate ${result.errorRate} > maxErrorRate ${spec.maxErrorRate}`);
  if (candidate.messages > 0) {
    result.deadLetterRate = round(candidate.deadLetters / candidate.messages);
    const stableRate = stable.messages > 0 ? stable.deadLetters / stable.messages : 0;
    const limit = round(stableRate + spec.maxErrorRate);
    if (result.deadLetterRate > limit)
      failures.push(`deadLetterRate ${result.deadLetterRate} > stable's ${round(stableRate)} + maxErrorRate`);
  }
  const p99 = candidate.latencyMs && histogramQuantile(candidate.latencyMs, 0.99);
  if (p99 !== undefined) {
    result.p99LatencyMs = round(p99);
    if (spec.maxP99LatencyMs !== undefined && p99 > spec.maxP99LatencyMs)
      failures.push(`p99LatencyMs ${result.p99LatencyMs} > maxP99LatencyMs ${spec.maxP99LatencyMs}`);
  }
  const divergence = candidate.scores && stable.scores && ksDistance(candidate.scores, stable.scores);
  if (divergence !== undefined) {
    result.scoreDivergence = round(divergence);
    if (spec.maxScoreDivergence !== undefined && divergence > spec.maxScoreDivergence)
      failures.push(
        `scoreDivergence ${result.scoreDivergence} > maxScoreDivergence ${spec.maxScoreDivergence}`,
      );
  } else if (spec.maxScoreDivergence !== undefined && stable.predictions === 0) {
    return {
      ...result,
      verdict: 'Inconclusive',
      message: 'the stable scored nothing in the interval: no score distribution to compare with',
    };
  }
  if (candidate.shadowCompared > 0)
    result.shadowAgreement = round(candidate.shadowAgreed / candidate.shadowCompared);
  if (spec.minShadowAgreement !== undefined) {
    if (candidate.shadowCompared < spec.minSamples)
      return {
        ...result,
        verdict: 'Inconclusive',
        message: `${candidate.shadowCompared} readings paired with the stable's, fewer than minSamples ${spec.minSamples}`,
      };
    if (result.shadowAgreement! < spec.minShadowAgreement)
      failures.push(
        `shadowAgreement ${result.shadowAgreement} < minShadowAgreement ${spec.minShadowAgreement}`,
      );
  }
  if (failures.length > 0) {
    result.verdict = 'Failed';
    result.message = failures.join('; ');
  }
  return result;
}
