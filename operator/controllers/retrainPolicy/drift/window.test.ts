import { describe, expect, it } from 'vitest';
import type { HistogramSnapshot, TelemetryMessage } from '../../../../contracts/telemetry.ts';
import { DriftWindows, MAX_VERSIONS } from './window.ts';

const hist = (counts: number[], edges = [0, 1]): HistogramSnapshot => ({
  edges,
  counts,
  count: counts.reduce((a, b) => a + b, 0),
  sum: counts[1]! + 2 * (counts[2] ?? 0),
});

function msg(to: number, opts: Partial<TelemetryMessage> = {}): TelemetryMessage {
  return {
    namespace: 'ns',
    model: 'm',
    version: 'v1',
    role: 'stable',
    instance: 'pod-a',
    from: to - 5_000,
    to,
    features: { a: hist([1, 2, 3]) },
    scores: hist([4, 5, 6], [0.5, 0.9]),
    featureBins: 'baseline',
    ...opts,
  } as TelemetryMessage;
}

describe('DriftWindows', () => {
  it('sums the replicas whose windows end in one bucket', () => {
    const w = new DriftWindows({ bucketMs: 10_000 });
    w.record(msg(12_000));
    w.record(msg(15_000, { instance: 'pod-b' }));
    w.record(msg(21_000));
    const v = w.window('ns', 'm', 'v1')!;
    expect(v.intervals.map((i) => [i.start, i.features.a!.counts, i.scores!.count])).toEqual([
      [10_000, [2, 4, 6], 30],
      [20_000, [1, 2, 3], 15],
    ]);
    expect(v.firstSeen).toBe(7_000);
  });

  it('keeps telemetry with other edges out of a bucket, and ignores malformed histograms', () => {
    const w = new DriftWindows({ bucketMs: 10_000 });
    w.record(msg(12_000));
    w.record(msg(13_000, { features: { a: hist([9, 9, 9, 9], [0, 1, 2]), b: { edges: [1] } as never } }));
    const i = w.window('ns', 'm', 'v1')!.intervals[0]!;
    expect(i.features.a!.counts).toEqual([1, 2, 3]);
    expect(i.features).not.toHaveProperty('b');
  });

  it('places late telemetry in its own bucket, in time order', () => {
    const w = new DriftWindows({ bucketMs: 10_000 });
    w.record(msg(31_000));
    w.record(msg(12_000));
    w.record(msg(25_000));
    expect(w.window('ns', 'm', 'v1')!.intervals.map((i) => i.start)).toEqual([10_000, 20_000, 30_000]);
  });

  it('is bounded: buckets older than the retention, and beyond maxBuckets, are dropped', () => {
    const w = new DriftWindows({ bucketMs: 1_000, maxBuckets: 50 });
    for (let t = 1; t <= 500; t++) w.record(msg(t * 1_000));
    // Retention 1 h at 1 s buckets would be 3600; the cap keeps 51 (50 plus the one filling).
    expect(w.bucketMs).toBe(72_000);
    expect(w.window('ns', 'm', 'v1')!.intervals.length).toBeLessThanOrEqual(51);
  });

  it('coarsens its buckets when a longer window is asked for, keeping every count', () => {
    const w = new DriftWindows({ bucketMs: 10_000, maxBuckets: 360 });
    for (let t = 1; t <= 360; t++) w.record(msg(t * 10_000));
    w.retain(2 * 3_600_000);
    expect(w.bucketMs).toBe(20_000);
    const v = w.window('ns', 'm', 'v1')!;
    expect(v.intervals.length).toBe(180);
    expect(v.intervals.reduce((a, i) => a + i.features.a!.count, 0)).toBe(360 * 6);
    w.retain(60_000);
    expect(w.retainMs).toBe(2 * 3_600_000);
  });

  it('keeps at most MAX_VERSIONS versions per model, evicting the one seen longest ago', () => {
    const w = new DriftWindows();
    w.record(msg(1_000, { version: 'v1' }));
    w.record(msg(2_000, { version: 'v2' }));
    w.record(msg(3_000, { version: 'v3' }));
    expect(MAX_VERSIONS).toBe(2);
    expect(w.window('ns', 'm', 'v1')).toBeUndefined();
    expect(w.latestVersion('ns', 'm')).toBe('v3');
    w.forget('ns', 'm');
    expect(w.latestVersion('ns', 'm')).toBeUndefined();
  });
});
