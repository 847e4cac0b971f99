import { describe, expect, it } from 'vitest';
import type { Baseline } from '../../../../contracts/modelBaseline.ts';
import type { TelemetryMessage } from '../../../../contracts/telemetry.ts';
import { SCORE, type DriftTrigger } from './assessDrift.ts';
import { DriftDetector } from './detector.ts';

const EDGES = [-1, 0, 1];
const BASELINE: Baseline = {
  inputs: ['a'],
  means: [0],
  bins: { a: EDGES },
  histograms: { a: [1587, 3413, 3413, 1587] },
};
const TRIGGER: DriftTrigger = { method: 'psi', threshold: 0.1, window: '5m', minSamples: 500 };
const START = Date.parse('2026-01-01T00:00:00Z');

/** One replica's 5 s window: `counts` readings of input a over EDGES, scores over [0.5]. */
function telemetry(to: number, counts: number[], opts: Partial<TelemetryMessage> = {}): TelemetryMessage {
  const count = counts.reduce((a, b) => a + b, 0);
  return {
    schema: 1,
    namespace: 'ns',
    model: 'pump',
    version: 'v1',
    role: 'stable',
    instance: 'pod-a',
    from: to - 5_000,
    to,
    features: { a: { edges: EDGES, counts, count, sum: counts[2]! + 2 * counts[3]! - 2 * counts[0]! } },
    scores: { edges: [0.5], counts: [counts[0]! + counts[1]!, counts[2]! + counts[3]!], count, sum: 0 },
    featureBins: 'baseline',
    ...opts,
  } as TelemetryMessage;
}

const STEADY = [2, 3, 3, 2];
const SHIFTED = [0, 1, 4, 5];

describe('DriftDetector', () => {
  it('knows nothing before stable telemetry; canary and shadow telemetry is not drift', () => {
    const d = new DriftDetector();
    d.observe(telemetry(START + 5_000, STEADY, { role: 'canary' }));
    expect(d.assess('ns', 'pump', TRIGGER, new Date(START + 5_000))).toBeUndefined();
  });

  it('assesses the stable version from every replica, with its baseline, and reports since', () => {
    const d = new DriftDetector();
    d.setBaseline('ns', 'pump', 'v1', BASELINE);
    let t = START;
    const feed = (seconds: number, counts: number[]) => {
      for (const end = t + seconds * 1000; t < end;) {
        t += 5_000;
        for (const instance of ['pod-a', 'pod-b']) d.observe(telemetry(t, counts, { instance }));
      }
    };
    feed(120, STEADY);
    expect(d.assess('ns', 'pump', TRIGGER, new Date(t))).toMatchObject({ judged: false, version: 'v1' });
    feed(300, STEADY);
    const steady = d.assess('ns', 'pump', TRIGGER, new Date(t))!;
    expect(steady).toMatchObject({ judged: true, drifting: false });
    expect(steady.features.find((f) => f.name === 'a')!.samples).toBe(1200);
    // The first full window became the score reference.
    expect(steady.features.map((f) => f.name).sort()).toEqual(['a', SCORE]);

    feed(300, SHIFTED);
    const shifted = d.assess('ns', 'pump', TRIGGER, new Date(t))!;
    expect(shifted.drifting).toBe(true);
    expect(
      shifted.features
        .filter((f) => f.drifting)
        .map((f) => f.name)
        .sort(),
    ).toEqual(['a', SCORE]);
    const since = shifted.features[0]!.since;
    feed(30, SHIFTED);
    expect(d.assess('ns', 'pump', TRIGGER, new Date(t))!.features[0]!.since).toBe(since);
  });

  it('follows a promotion to the new stable version, and says when it has no baseline', () => {
    const d = new DriftDetector();
    d.setBaseline('ns', 'pump', 'v1', BASELINE);
    d.setBaseline('ns', 'pump', 'v2', undefined);
    d.observe(telemetry(START + 5_000, STEADY));
    d.observe(telemetry(START + 10_000, STEADY, { version: 'v2' }));
    const a = d.assess('ns', 'pump', TRIGGER, new Date(START + 10_000))!;
    expect(a).toMatchObject({ version: 'v2', judged: false });
    expect(a.reason).toMatch(/no training baseline/);
    d.forget('ns', 'pump');
    expect(d.assess('ns', 'pump', TRIGGER, new Date(START + 10_000))).toBeUndefined();
  });
});
