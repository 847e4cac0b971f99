import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AGGREGATIONS } from '../../../contracts/runtimeConfig.ts';
import { createFeatureVectorBuilder, windowSpecsOf } from './featureVector.ts';
import { WindowStore } from './windows.ts';

// Straightforward reference implementations over the raw window (oldest first).
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const reference: Record<string, (xs: number[]) => number> = {
  mean,
  std: (xs) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2))),
  min: (xs) => Math.min(...xs),
  max: (xs) => Math.max(...xs),
  rms: (xs) => Math.sqrt(mean(xs.map((x) => x * x))),
  kurtosis: (xs) => {
    if (xs.length < 2) return 0;
    const mu = mean(xs);
    const m2 = mean(xs.map((x) => (x - mu) ** 2));
    const m4 = mean(xs.map((x) => (x - mu) ** 4));
    return m2 <= 1e-9 * (mean(xs.map((x) => x * x)) + 1e-300) ? 0 : m4 / (m2 * m2) - 3;
  },
  slope: (xs) => {
    const n = xs.length;
    if (n < 2) return 0;
    const tBar = (n - 1) / 2;
    const xBar = mean(xs);
    let num = 0;
    let den = 0;
    xs.forEach((x, t) => {
      num += (t - tBar) * (x - xBar);
      den += (t - tBar) ** 2;
    });
    return num / den;
  },
};
const MOMENT_AGGS = ['mean', 'std', 'min', 'max', 'rms', 'kurtosis', 'slope'] as const;

function close(actual: number, expected: number, scale: number, rel = 1e-6): boolean {
  return Math.abs(actual - expected) <= rel * Math.max(1, Math.abs(expected), scale);
}

describe('window store', () => {
  it('keeps the last `size` samples in order', () => {
    const store = new WindowStore([{ featureIndex: 0, size: 3, aggregations: ['mean'] }], 1);
    for (const v of [1, 2, 3, 4, 5]) store.push('m', Float64Array.of(v), 0);
    expect(store.samples(store.slotOf('m')!, 0)).toEqual([3, 4, 5]);
  });

  it.each([
    ['mean', [1, 2, 3, 4], 3, 3],
    ['min', [5, 1, 7, 9], 3, 1],
    ['min after the minimum is evicted', [1, 5, 7, 9], 3, 5],
    ['max after the maximum is evicted', [9, 5, 7, 1], 3, 7],
    ['rms', [3, 4], 2, Math.sqrt(12.5)],
    ['slope of a line', [2, 4, 6, 8, 10], 4, 2],
    ['std of a constant', [7, 7, 7], 3, 0],
    ['kurtosis of a constant', [640.5, 640.5, 640.5], 3, 0],
  ] as const)('computes %s', (name, xs, size, expected) => {
    const store = new WindowStore([{ featureIndex: 0, size, aggregations: [...MOMENT_AGGS] }], 1);
    for (const v of xs) store.push('m', Float64Array.of(v), 0);
    const aggregation = name.split(' ')[0] as (typeof MOMENT_AGGS)[number];
    expect(store.aggregate(store.slotOf('m')!, 0, aggregation)).toBeCloseTo(expected, 9);
  });

  it('matches the reference implementation for every aggregation (property)', () => {
    const value = fc.oneof(
      fc.double({ min: -1000, max: 1000, noNaN: true }),
      fc.double({ min: 639, max: 642, noNaN: true }), // large offset, small spread (C-MAPSS-like)
      fc.integer({ min: -3, max: 3 }), // many ties: exercises min/max rescans
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(value, { minLength: 1, maxLength: 120 }),
        (size, xs) => {
          const store = new WindowStore([{ featureIndex: 0, size, aggregations: [...MOMENT_AGGS] }], 1);
          const stored: number[] = [];
          for (const x of xs) {
            store.push('m', Float64Array.of(x), 0);
            stored.push(Math.fround(x));
          }
          const window = stored.slice(-size);
          const slot = store.slotOf('m')!;
          const spread = Math.max(...window.map(Math.abs));
          // The moments are kept around a shift K taken from the ring at its last wrap (a value of
          // the last 2 × size), so the fourth moment loses about eps · ((|K| + spread) / std)⁴.
          const shift = Math.max(...stored.slice(-2 * size).map(Math.abs));
          const std = reference.std!(window);
          const kurtosisTolerance = Math.max(1e-4, 16 * Number.EPSILON * ((shift + spread) / std) ** 4);
          for (const agg of MOMENT_AGGS) {
            const actual = store.aggregate(slot, 0, agg);
            const expected = reference[agg]!(window);
            // Kurtosis divides by m2², so it is only compared where the window is not near-constant.
            const tolerance = agg === 'kurtosis' ? kurtosisTolerance : 1e-7;
            if (agg === 'kurtosis' && std < 1e-3 * Math.max(1, spread)) continue;
            if (!close(actual, expected, agg === 'slope' || agg === 'std' ? spread : 0, tolerance))
              return false;
          }
          return true;
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('a time window holds the readings of its span of event time, at most `size` (property)', () => {
    // Readings with increasing timestamps (some gaps long enough to empty the window), values with
    // ties and offsets; the reference keeps readings with ts > newest ts − duration, the last `size`.
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 50 }),
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: 30 }),
            fc.oneof(fc.integer({ min: -3, max: 3 }), fc.double({ min: 639, max: 642, noNaN: true })),
          ),
          { minLength: 1, maxLength: 150 },
        ),
        (size, durationMs, steps) => {
          const store = new WindowStore(
            [{ featureIndex: 0, size, durationMs, aggregations: [...MOMENT_AGGS] }],
            1,
          );
          const kept: { ts: number; x: number }[] = [];
          let ts = 1_000;
          for (const [gap, x] of steps) {
            ts += gap;
            store.push('m', Float64Array.of(x), 0, ts);
            kept.push({ ts, x: Math.fround(x) });
          }
          const window = kept
            .filter((r) => r.ts > ts - durationMs)
            .slice(-size)
            .map((r) => r.x);
          const slot = store.slotOf('m')!;
          expect(store.samples(slot, 0)).toEqual(window);
          const spread = Math.max(...window.map(Math.abs));
          for (const agg of MOMENT_AGGS) {
            if (agg === 'kurtosis') continue; // its conditioning is covered by the count-window property
            const actual = store.aggregate(slot, 0, agg);
            const expected = window.length === 0 ? 0 : reference[agg]!(window);
            if (!close(actual, expected, agg === 'slope' || agg === 'std' ? spread : 0, 1e-6)) return false;
          }
          return true;
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('a reading older than the newest enters no window and leaves the latest values alone', () => {
    const store = new WindowStore(
      [
        { featureIndex: 0, size: 100, durationMs: 1_000, aggregations: ['mean'] },
        { featureIndex: 0, size: 3, aggregations: ['mean'] },
      ],
      1,
    );
    store.push('m', Float64Array.of(1), 0, 10_000);
    store.push('m', Float64Array.of(2), 0, 10_500);
    const slot = store.push('m', Float64Array.of(3), 0, 10_200); // a redelivery after a failover
    expect(store.samples(slot, 0)).toEqual([1, 2]);
    expect(store.samples(slot, 1)).toEqual([1, 2]);
    expect(store.latest(slot, 0)).toBe(2);
    expect(store.aggregate(slot, 0, 'mean')).toBe(1.5);
    store.push('m', Float64Array.of(4), 0, 11_100); // the span is now (10.1 s, 11.1 s]: 10.0 s leaves
    expect(store.samples(slot, 0)).toEqual([2, 4]);
    expect(store.samples(slot, 1)).toEqual([1, 2, 4]);
    // Equal timestamps are not late.
    store.push('m', Float64Array.of(5), 0, 11_100);
    expect(store.samples(slot, 1)).toEqual([2, 4, 5]);
  });

  it('keeps several windows over one feature apart (5 readings and 1 s of readings)', () => {
    const store = new WindowStore(
      [
        { featureIndex: 0, size: 5, aggregations: ['rms'] },
        { featureIndex: 0, size: 1_000, durationMs: 1_000, aggregations: ['rms', 'max'] },
      ],
      1,
    );
    for (let i = 1; i <= 20; i++) store.push('m', Float64Array.of(i), 0, i * 100);
    const slot = store.slotOf('m')!;
    expect(store.samples(slot, 0)).toEqual([16, 17, 18, 19, 20]);
    expect(store.samples(slot, 1)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    expect(store.aggregate(slot, 1, 'max')).toBe(20);
  });

  it('a machine warms up until its windows are full: readings for count windows, event time for time windows', () => {
    const store = new WindowStore([{ featureIndex: 0, size: 3, aggregations: ['mean'] }], 1);
    const warm: boolean[] = [];
    for (let i = 0; i < 4; i++) {
      const slot = store.push('m', Float64Array.of(i), 0, 1_000 + i * 400);
      warm.push(store.warmedUp(slot, { readings: 3, spanMs: 1_000 }));
    }
    // 3 readings by the third, 1 s of readings (1.0 s → 2.2 s) by the fourth.
    expect(warm).toEqual([false, false, false, true]);
    store.delete('m');
    expect(store.warmedUp(store.push('m', Float64Array.of(1), 0, 5_000), { readings: 1, spanMs: 0 })).toBe(
      true,
    );
    expect(store.warmedUp(store.push('n', Float64Array.of(1), 0, 5_000), { readings: 2, spanMs: 0 })).toBe(
      false,
    );
  });

  it('stays accurate over long streams (drift is reset on every wrap)', () => {
    const store = new WindowStore([{ featureIndex: 0, size: 60, aggregations: [...MOMENT_AGGS] }], 1);
    const stored: number[] = [];
    let seed = 1;
    const rand = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let i = 0; i < 100_037; i++) {
      const x = 640 + Math.sin(i / 7) + rand() * 0.2 + (i % 5000 === 0 ? 1e4 : 0);
      store.push('m', Float64Array.of(x), 0);
      stored.push(Math.fround(x));
    }
    const window = stored.slice(-60);
    const slot = store.slotOf('m')!;
    for (const agg of MOMENT_AGGS)
      expect(close(store.aggregate(slot, 0, agg), reference[agg]!(window), 0, 1e-6)).toBe(true);
  });

  it('skips absent values and carries the latest value forward', () => {
    const store = new WindowStore([{ featureIndex: 1, size: 4, aggregations: ['mean'] }], 2);
    store.push('m', Float64Array.of(1, 10), 0);
    store.push('m', Float64Array.of(NaN, NaN), 0);
    store.push('m', Float64Array.of(3, 20), 0);
    const slot = store.slotOf('m')!;
    expect(store.samples(slot, 0)).toEqual([10, 20]);
    expect(store.latest(slot, 0)).toBe(3);
    store.push('m', Float64Array.of(NaN, 30), 0);
    expect(store.latest(slot, 0)).toBe(3);
  });

  it('counts readings since the last maintenance', () => {
    const store = new WindowStore(
      [{ featureIndex: 0, size: 2, aggregations: ['count_since_maintenance'] }],
      1,
    );
    for (let i = 0; i < 5; i++) store.push('m', Float64Array.of(i), 0);
    const slot = store.slotOf('m')!;
    expect(store.aggregate(slot, 0, 'count_since_maintenance')).toBe(5);
    expect(store.markMaintenance('m')).toBe(true);
    expect(store.aggregate(slot, 0, 'count_since_maintenance')).toBe(0);
    store.push('m', Float64Array.of(1), 0);
    expect(store.aggregate(slot, 0, 'count_since_maintenance')).toBe(1);
    expect(store.markMaintenance('unknown')).toBe(false);
  });

  it('evicts idle machines and reuses their slots with clean state', () => {
    const store = new WindowStore([{ featureIndex: 0, size: 3, aggregations: ['mean'] }], 1, {
      chunkMachines: 2,
    });
    store.push('a', Float64Array.of(100), 1_000);
    store.push('b', Float64Array.of(5), 5_000);
    expect(store.evictIdle(6_000, 2_000)).toEqual(['a']);
    expect(store.has('a')).toBe(false);
    expect(store.machineCount).toBe(1);
    store.push('c', Float64Array.of(1), 6_000);
    expect(store.capacity).toBe(2); // reused a's slot: no new chunk
    expect(store.aggregate(store.slotOf('c')!, 0, 'mean')).toBe(1);
    store.push('d', Float64Array.of(1), 6_000);
    expect(store.capacity).toBe(4);
  });

  it('builds feature rows in configured input order', () => {
    const config = {
      schema: {
        timestampField: 'ts',
        timestampFormat: 'UnixMillis' as const,
        maxMessageBytes: 4096,
        maxFutureSkewMs: 0,
        features: [
          { name: 'a', required: true },
          { name: 'b', required: false },
        ],
      },
      windows: [{ feature: 'a', size: 4, aggregations: [...AGGREGATIONS] }],
    };
    const store = new WindowStore(windowSpecsOf(config), 2);
    store.push('m', Float64Array.of(1, NaN), 0);
    store.push('m', Float64Array.of(3, NaN), 0);
    const builder = createFeatureVectorBuilder(config, [
      'b',
      'a',
      'a.mean',
      'a.max',
      'a.slope',
      'a.count_since_maintenance',
    ]);
    const row = new Float32Array(8);
    builder.fill(store, store.slotOf('m')!, row, 2);
    expect([...row]).toEqual([0, 0, 0, 3, 2, 3, 2, 2]);
    expect(() => createFeatureVectorBuilder(config, ['b.mean'])).toThrow(/no window/);
  });
});
