import { describe, expect, it } from 'vitest';
import type { Baseline } from '../../../../contracts/modelBaseline.ts';
import type { HistogramSnapshot } from '../../../../contracts/telemetry.ts';
import { assessDrift, referenceOf, SCORE, type DriftTrigger, type DriftWindow } from './assessDrift.ts';
import type { DriftInterval } from './window.ts';

const EDGES = [-1.28, -0.84, -0.52, -0.25, 0, 0.25, 0.52, 0.84, 1.28];
const SCORE_EDGES = [0.1, 0.5, 0.9];
const BASELINE: Baseline = {
  inputs: ['a', 'b'],
  means: [0, 0],
  bins: { a: EDGES, b: EDGES },
  histograms: { a: new Array(10).fill(1000), b: new Array(10).fill(1000) },
};
const TRIGGER: DriftTrigger = { method: 'ks', threshold: 0.05, window: '10m', minSamples: 1000 };
const START = Date.parse('2026-01-01T00:00:00Z');
const at = (s: number) => new Date(START + s * 1000);

function gaussians(seed: number) {
  let s = seed >>> 0;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 1) / (2 ** 32 + 1);
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

function histogram(edges: number[], values: number[]): HistogramSnapshot {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const v of values) {
    const i = edges.findIndex((e) => v < e);
    counts[i === -1 ? edges.length : i]!++;
  }
  return { edges, counts, count: values.length, sum: values.reduce((x, y) => x + y, 0) };
}

/**
 * 10 s intervals from `from` to `to` seconds of `perInterval` AR(1) readings per input; `shift(t)`
 * is added to input a. Scores are a logistic of a.
 */
function intervals(
  from: number,
  to: number,
  opts: { rho?: number; perInterval?: number; shift?: (t: number) => number; seed?: number } = {},
): DriftInterval[] {
  const g = gaussians(opts.seed ?? 1);
  const rho = opts.rho ?? 0;
  const x = { a: g(), b: g() };
  const out: DriftInterval[] = [];
  for (let t = from; t < to; t += 10) {
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < (opts.perInterval ?? 20); i++) {
      x.a = rho * x.a + Math.sqrt(1 - rho * rho) * g();
      x.b = rho * x.b + Math.sqrt(1 - rho * rho) * g();
      a.push(x.a + (opts.shift?.(t) ?? 0));
      b.push(x.b);
    }
    out.push({
      start: START + t * 1000,
      end: START + (t + 10) * 1000,
      features: { a: histogram(EDGES, a), b: histogram(EDGES, b) },
      scores: histogram(
        SCORE_EDGES,
        a.map((v) => 1 / (1 + Math.exp(-v))),
      ),
    });
  }
  return out;
}

const win = (list: DriftInterval[], extra: Partial<DriftWindow> = {}): DriftWindow => ({
  version: 'v1',
  firstSeen: START,
  intervals: list,
  ...extra,
});

describe('assessDrift', () => {
  it('gives no verdict under minSamples, or without a baseline, and says why', () => {
    const few = assessDrift(BASELINE, win(intervals(0, 300, { perInterval: 2 })), TRIGGER, at(300));
    expect(few).toMatchObject({
      judged: false,
      drifting: false,
      reason: 'the window holds 60 of the 1000 readings needed',
    });
    const none = assessDrift(undefined, win(intervals(0, 600)), TRIGGER, at(600));
    expect(none.judged).toBe(false);
    expect(none.reason).toMatch(/no training baseline/);
    expect(none.features).toEqual([]);
  });

  it('judges the window of the trigger only, per watched input', () => {
    const list = intervals(0, 1200, { shift: (t) => (t < 600 ? 2 : 0) });
    const a = assessDrift(BASELINE, win(list), { ...TRIGGER, features: ['a'] }, at(1200));
    expect(a.features.map((f) => [f.name, f.samples, f.drifting])).toEqual([['a', 1200, false]]);
    expect(a).toMatchObject({ judged: true, drifting: false, version: 'v1', time: at(1200).toISOString() });
  });

  it('flags a shifted input, most drifting first, and carries since while it stays over', () => {
    const shift = { shift: (t: number) => (t >= 600 && t < 1500 ? 1 : 0) };
    const first = assessDrift(BASELINE, win(intervals(0, 1200, shift)), TRIGGER, at(1200));
    expect(first.drifting).toBe(true);
    expect(first.features.map((f) => f.name)).toEqual(['a', 'b']);
    expect(first.features[0]).toMatchObject({ drifting: true, since: at(1200).toISOString(), method: 'ks' });
    expect(first.features[0]!.score).toBeGreaterThan(first.features[0]!.threshold);
    expect(first.features[1]).not.toHaveProperty('since');

    const later = assessDrift(BASELINE, win(intervals(0, 1260, shift)), TRIGGER, at(1260), first);
    expect(later.features[0]!.since).toBe(first.features[0]!.since);

    const otherVersion = assessDrift(
      BASELINE,
      win(intervals(0, 1260, shift), { version: 'v2' }),
      TRIGGER,
      at(1260),
      first,
    );
    expect(otherVersion.features[0]!.since).toBe(at(1260).toISOString());

    const back = assessDrift(BASELINE, win(intervals(0, 2400, shift)), TRIGGER, at(2400), later);
    expect(back.drifting).toBe(false);
    expect(back.features[0]).not.toHaveProperty('since');
  });

  it('raises the threshold for an autocorrelated window: fewer effective samples', () => {
    const list = intervals(0, 600, { rho: 0.9 });
    const corrected = assessDrift(BASELINE, win(list), { ...TRIGGER, threshold: 0.001 }, at(600));
    const naive = assessDrift(BASELINE, win(list), { ...TRIGGER, threshold: 0.001 }, at(600), undefined, {
      correction: false,
    });
    const [c, n] = [
      corrected.features.find((f) => f.name === 'b')!,
      naive.features.find((f) => f.name === 'b')!,
    ];
    expect(c.score).toBe(n.score);
    expect(n.effectiveSamples).toBe(n.samples);
    expect(c.effectiveSamples).toBeLessThan(c.samples / 3);
    expect(c.threshold).toBeGreaterThan(1.7 * n.threshold);
    // The threshold never goes below the policy's.
    const material = assessDrift(BASELINE, win(list), { ...TRIGGER, threshold: 0.9 }, at(600));
    expect(material.features.every((f) => f.threshold === 0.9 && !f.drifting)).toBe(true);
  });

  it('uses the design effect captured in the reference, so a later shift cannot hide itself', () => {
    const shift = { rho: 0.5, shift: (t: number) => (t >= 900 ? 0.6 : 0) };
    const list = intervals(0, 1200, shift);
    const reference = referenceOf(win(list), TRIGGER, START + 600_000)!;
    expect(reference.designEffects.a).toBeGreaterThan(1);
    const own = assessDrift(BASELINE, win(list), TRIGGER, at(1200));
    const frozen = assessDrift(BASELINE, win(list, { reference }), TRIGGER, at(1200));
    const a = (x: typeof own) => x.features.find((f) => f.name === 'a')!;
    expect(a(frozen).threshold).toBeLessThan(a(own).threshold);
    expect(a(frozen).drifting).toBe(true);
  });

  it('has no reference before the version served a whole window with minSamples readings', () => {
    const list = intervals(0, 600);
    expect(referenceOf(win(list), TRIGGER, START + 500_000)).toBeUndefined();
    expect(referenceOf(win(list, { firstSeen: START + 100_000 }), TRIGGER, START + 600_000)).toBeUndefined();
    expect(referenceOf(win(intervals(0, 600, { perInterval: 1 })), TRIGGER, START + 600_000)).toBeUndefined();
  });

  it('measures prediction drift against the reference window of scores', () => {
    const list = intervals(0, 1800, { shift: (t) => (t >= 1200 ? 1.5 : 0) });
    const reference = referenceOf(win(list), TRIGGER, START + 600_000)!;
    expect(reference.scores!.samples).toBe(1200);
    const steady = assessDrift(BASELINE, win(list, { reference }), TRIGGER, at(1200));
    expect(steady.features.find((f) => f.name === SCORE)).toMatchObject({ drifting: false, samples: 1200 });
    const moved = assessDrift(BASELINE, win(list, { reference }), TRIGGER, at(1800));
    expect(moved.features.find((f) => f.name === SCORE)!.drifting).toBe(true);
  });

  it.each(['psi', 'wasserstein'] as const)('%s: steady is quiet, shifted drifts', (method) => {
    const trigger = { ...TRIGGER, method, threshold: method === 'psi' ? 0.1 : 0.2 };
    const steady = assessDrift(BASELINE, win(intervals(0, 600, { rho: 0.5 })), trigger, at(600));
    expect(steady.drifting).toBe(false);
    const shifted = assessDrift(
      BASELINE,
      win(intervals(0, 600, { rho: 0.5, shift: () => 1 })),
      trigger,
      at(600),
    );
    expect(shifted.features.map((f) => [f.name, f.drifting])).toEqual([
      ['a', true],
      ['b', false],
    ]);
  });
});
