import { describe, expect, it } from 'vitest';
import type { PipelineStats } from '../pipeline/pipeline.ts';
import { telemetryDelta } from './telemetry.ts';

const h = (edges: number[], counts: number[]) => ({
  edges,
  counts,
  count: counts.reduce((a, b) => a + b, 0),
  sum: counts.length,
});

function stats(patch: Partial<PipelineStats> = {}, n = 1): PipelineStats {
  return {
    schema: 1,
    model: 'pump',
    role: 'stable',
    serving: { modelServing: true, version: 'v3', explain: 'occlusion' },
    machines: 10 * n,
    counts: {
      messages: 10 * n,
      predictions: 8 * n,
      deadLetters: 2 * n,
      filtered: 0,
      fallback: 0,
      scoreErrors: 0,
      invalidScores: 0,
      alerts: n,
      batches: n,
      rowsRun: 8 * n,
    },
    deadLettersByReason: { out_of_range: 2 * n },
    batchLatencyMs: h([1, 2], [n, 0, 0]),
    batchBlockingMs: h([1, 2], [n, 0, 0]),
    ortRunMs: h([1, 2], [n, 0, 0]),
    scores: h([0.5, 0.8], [8 * n, 0, 0]),
    features: { vibration: h([0, 10], [0, 8 * n, 0]) },
    featureBins: 'schema',
    ...patch,
  };
}

const window = { namespace: 'plant-a', instance: 'pod-1', from: 1000, to: 6000, eventLoopLagP99Ms: 1.5 };

describe('telemetryDelta', () => {
  it('first window: the whole snapshot, versioned and labelled', () => {
    const m = telemetryDelta(stats(), undefined, window);
    expect(m).toMatchObject({
      schema: 1,
      namespace: 'plant-a',
      model: 'pump',
      version: 'v3',
      role: 'stable',
      instance: 'pod-1',
      from: 1000,
      to: 6000,
    });
    expect(m.counts.predictions).toBe(8);
    expect(m.deadLettersByReason).toEqual({ out_of_range: 2 });
    expect(m.features.vibration!.counts).toEqual([0, 8, 0]);
  });

  it('later windows: counts, reasons and histograms are differences; machines is a gauge', () => {
    const m = telemetryDelta(stats({}, 3), stats({}, 1), window);
    expect(m.counts).toMatchObject({ messages: 20, predictions: 16, deadLetters: 4, batches: 2 });
    expect(m.deadLettersByReason).toEqual({ out_of_range: 4 });
    expect(m.scores.counts).toEqual([16, 0, 0]);
    expect(m.scores.count).toBe(16);
    expect(m.ortRunMs.counts).toEqual([2, 0, 0]);
    expect(m.features.vibration!.counts).toEqual([0, 16, 0]);
    expect(m.machines).toBe(30);
  });

  it('reasons without new dead letters are left out', () => {
    expect(telemetryDelta(stats(), stats(), window).deadLettersByReason).toEqual({});
  });

  it('a swapped model (new edges or reset counts) sends its histograms whole', () => {
    const after = stats({ features: { vibration: h([0, 5, 10], [1, 1, 1, 0]) } }, 2);
    expect(telemetryDelta(after, stats({}, 1), window).features.vibration!.counts).toEqual([1, 1, 1, 0]);
  });

  it('fallback serving is named in version and serving', () => {
    const m = telemetryDelta(
      stats({
        serving: {
          modelServing: false,
          explain: 'none',
          lastError: { reason: 'digest_mismatch', message: 'bad', version: 'v3' },
        },
      }),
      undefined,
      window,
    );
    expect(m.version).toBe('fallback');
    expect(m.serving).toEqual({ modelServing: false, explain: 'none', lastError: 'digest_mismatch: bad' });
  });
});
