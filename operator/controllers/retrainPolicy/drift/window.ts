/**
 * The stable runtimes' feature and score histograms kept for drift detection: per model and version,
 * a rolling window of time buckets, each the sum of every replica's telemetry that ended in it (the
 * buckets are the "intervals" the effective sample size is estimated over). Memory is bounded: at
 * most maxBuckets buckets per version (coarser buckets when a longer window is asked for) and
 * MAX_VERSIONS versions per model.
 */
import type { HistogramSnapshot, TelemetryMessage } from '../../../../contracts/telemetry.ts';

export interface DriftInterval {
  /** [start, end), epoch ms. */
  start: number;
  end: number;
  /** Per model input, summed over replicas (telemetry with other edges is left out). */
  features: Record<string, HistogramSnapshot>;
  scores: HistogramSnapshot | undefined;
}

export interface VersionWindow {
  version: string;
  /** When this process first saw the version serve (epoch ms). */
  firstSeen: number;
  lastSeen: number;
  /** In time order. */
  intervals: DriftInterval[];
}

/** A runtime publishes every 5 s by default; 10 s buckets sum two windows of each replica. */
export const DEFAULT_BUCKET_MS = 10_000;
/** 720 buckets: an hour at 10 s. ~20 inputs × 11 bins each: ~1.3 MB per version at most. */
export const DEFAULT_MAX_BUCKETS = 720;
export const DEFAULT_RETAIN_MS = 3_600_000;
/** Longest window kept, whatever a policy asks (the CRD allows any duration). */
export const MAX_RETAIN_MS = 7 * 86_400_000;
/** The stable and the one it replaced (late telemetry of an old version must not evict the new). */
export const MAX_VERSIONS = 2;

function sameEdges(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((e, i) => e === b[i]);
}

function cloneHistogram(h: HistogramSnapshot): HistogramSnapshot {
  return { edges: [...h.edges], counts: [...h.counts], count: h.count, sum: h.sum };
}

/** Adds `h` into `into` when both have the same edges; false (left out) otherwise. */
function addInto(into: HistogramSnapshot, h: HistogramSnapshot): boolean {
  if (!sameEdges(into.edges, h.edges) || into.counts.length !== h.counts.length) return false;
  for (let i = 0; i < h.counts.length; i++) into.counts[i]! += h.counts[i]!;
  into.count += h.count;
  into.sum += h.sum;
  return true;
}

function validHistogram(h: unknown): h is HistogramSnapshot {
  const s = h as HistogramSnapshot | undefined;
  return (
    !!s &&
    Array.isArray(s.edges) &&
    Array.isArray(s.counts) &&
    s.counts.length === s.edges.length + 1 &&
    typeof s.count === 'number' &&
    typeof s.sum === 'number'
  );
}

function merge(into: DriftInterval, from: Pick<DriftInterval, 'features' | 'scores'>): void {
  for (const [name, h] of Object.entries(from.features)) {
    if (!validHistogram(h)) continue;
    const known = into.features[name];
    if (known) addInto(known, h);
    else into.features[name] = cloneHistogram(h);
  }
  if (validHistogram(from.scores)) {
    if (into.scores) addInto(into.scores, from.scores);
    else into.scores = cloneHistogram(from.scores);
  }
}

export class DriftWindows {
  readonly #baseBucketMs: number;
  readonly #maxBuckets: number;
  #retainMs = DEFAULT_RETAIN_MS;
  #bucketMs: number;
  /** `<ns>/<model>` → version → window. */
  readonly #models = new Map<string, Map<string, VersionWindow>>();

  constructor(opts: { bucketMs?: number; maxBuckets?: number } = {}) {
    this.#baseBucketMs = opts.bucketMs ?? DEFAULT_BUCKET_MS;
    this.#maxBuckets = opts.maxBuckets ?? DEFAULT_MAX_BUCKETS;
    this.#bucketMs = this.#spanFor(this.#retainMs);
  }

  get bucketMs(): number {
    return this.#bucketMs;
  }

  get retainMs(): number {
    return this.#retainMs;
  }

  #spanFor(retainMs: number): number {
    return this.#baseBucketMs * Math.max(1, Math.ceil(retainMs / (this.#maxBuckets * this.#baseBucketMs)));
  }

  /** Keeps at least `ms` of history from now on (capped at MAX_RETAIN_MS); buckets coarsen to fit. */
  retain(ms: number): void {
    const wanted = Math.min(MAX_RETAIN_MS, ms);
    if (wanted <= this.#retainMs) return;
    this.#retainMs = wanted;
    const span = this.#spanFor(wanted);
    if (span === this.#bucketMs) return;
    this.#bucketMs = span;
    for (const versions of this.#models.values()) {
      for (const w of versions.values()) {
        const coarse: DriftInterval[] = [];
        for (const i of w.intervals) {
          const start = Math.floor(i.start / span) * span;
          let last = coarse.at(-1);
          if (!last || last.start !== start) {
            last = { start, end: start + span, features: {}, scores: undefined };
            coarse.push(last);
          }
          merge(last, i);
        }
        w.intervals = coarse;
      }
    }
  }

  /** Records a stable runtime's telemetry (the caller filters roles). */
  record(msg: TelemetryMessage): void {
    if (typeof msg.to !== 'number' || typeof msg.version !== 'string' || typeof msg.features !== 'object')
      return;
    const key = `${msg.namespace}/${msg.model}`;
    let versions = this.#models.get(key);
    if (!versions) this.#models.set(key, (versions = new Map()));
    let w = versions.get(msg.version);
    if (!w) {
      w = { version: msg.version, firstSeen: msg.to, lastSeen: msg.to, intervals: [] };
      versions.set(msg.version, w);
      if (versions.size > MAX_VERSIONS) {
        const oldest = [...versions.values()].reduce((a, b) => (a.lastSeen <= b.lastSeen ? a : b));
        versions.delete(oldest.version);
      }
    }
    w.firstSeen = Math.min(w.firstSeen, msg.from ?? msg.to);
    w.lastSeen = Math.max(w.lastSeen, msg.to);
    const span = this.#bucketMs;
    // A window [from, to) counts in the bucket where it ended.
    const start = Math.floor((msg.to - 1) / span) * span;
    let at = w.intervals.length;
    while (at > 0 && w.intervals[at - 1]!.start > start) at--;
    let bucket = w.intervals[at - 1];
    if (!bucket || bucket.start !== start) {
      bucket = { start, end: start + span, features: {}, scores: undefined };
      w.intervals.splice(at, 0, bucket);
    }
    merge(bucket, { features: msg.features, scores: msg.scores });
    const horizon = w.lastSeen - this.#retainMs - span;
    let drop = 0;
    while (
      drop < w.intervals.length &&
      (w.intervals[drop]!.end <= horizon || w.intervals.length - drop > this.#maxBuckets + 1)
    )
      drop++;
    if (drop > 0) w.intervals.splice(0, drop);
  }

  /** The version whose stable telemetry arrived last, if any. */
  latestVersion(namespace: string, model: string): string | undefined {
    const versions = this.#models.get(`${namespace}/${model}`);
    if (!versions || versions.size === 0) return undefined;
    return [...versions.values()].reduce((a, b) => (a.lastSeen >= b.lastSeen ? a : b)).version;
  }

  window(namespace: string, model: string, version: string): VersionWindow | undefined {
    return this.#models.get(`${namespace}/${model}`)?.get(version);
  }

  forget(namespace: string, model: string): void {
    this.#models.delete(`${namespace}/${model}`);
  }
}
