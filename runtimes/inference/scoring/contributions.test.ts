import { describe, expect, it } from 'vitest';
import {
  contributionGroups,
  linearContributions,
  occlusionContributions,
  writeOcclusionVariants,
} from './contributions.ts';
import { fallbackInputs, scoreByRules } from '../decision/fallback.ts';

describe('contributions', () => {
  const each = (inputs: string[]) => contributionGroups(inputs, 'input');

  it.each([
    [['a', 'b'], 'feature', ['a', 'b'], [[0], [1]]],
    [
      ['vib', 'vib.mean', 'temp', 'vib.std', 'temp.max'],
      'feature',
      ['vib', 'temp'],
      [
        [0, 1, 3],
        [2, 4],
      ],
    ],
    [['vib.mean', 'vib.std'], 'feature', ['vib'], [[0, 1]]],
    [
      ['vib.mean', 'vib.count_since_maintenance', 'temp.count_since_maintenance'],
      'feature',
      ['vib', 'since_maintenance'],
      [[0], [1, 2]],
    ],
    [['vib', 'vib.mean'], 'input', ['vib', 'vib.mean'], [[0], [1]]],
  ] as const)('groups %j by %s', (inputs, granularity, names, members) => {
    const g = contributionGroups(inputs, granularity);
    expect(g.names).toEqual(names);
    expect(g.members).toEqual(members);
  });

  it('linear contributions sum to score minus baseline score', () => {
    const w = [2, -1, 0.5];
    const baseline = [1, 1, 1];
    const rows = Float32Array.of(3, 0, 5, 1, 1, 1);
    const c = linearContributions(w, baseline, rows, 2, 3, each(['x', 'y', 'z']));
    expect([...c].map((v) => v + 0)).toEqual([4, 1, 2, 0, 0, 0]); // + 0 folds -0
  });

  it('linear contributions of a group are the sum of its inputs', () => {
    const rows = Float32Array.of(3, 0, 5);
    const c = linearContributions(
      [2, -1, 0.5],
      [1, 1, 1],
      rows,
      1,
      3,
      contributionGroups(['x', 'y', 'x.mean'], 'feature'),
    );
    expect([...c]).toEqual([4 + 2, 1]);
  });

  it('writes occlusion variants behind the rows and differences their scores', () => {
    const buffer = new Float32Array(2 * 2 + 2 * 2 * 2);
    buffer.set([1, 2, 3, 4]);
    writeOcclusionVariants(buffer, 2, 2, [0, 0], each(['x', 'y']));
    expect([...buffer.subarray(4)]).toEqual([0, 2, 1, 0, 0, 4, 3, 0]);
    // score = x0 + 10 x1
    const scores = [21, 43, 20, 1, 40, 3];
    expect([...occlusionContributions(scores, 2, 2)]).toEqual([1, 20, 3, 40]);
  });

  it('occludes a whole group in one variant row', () => {
    const buffer = new Float32Array(3 + 2 * 3);
    buffer.set([1, 2, 3]);
    writeOcclusionVariants(buffer, 1, 3, [0, 0, 0], contributionGroups(['x', 'y', 'x.mean'], 'feature'));
    expect([...buffer.subarray(3)]).toEqual([0, 2, 0, 1, 0, 3]);
  });
});

describe('fallback rules', () => {
  const rules = [
    { feature: 'temp', above: 95, severity: 'critical' as const },
    { feature: 'vib.rms', above: 12, severity: 'warning' as const },
    { feature: 'temp', below: -10, severity: 'warning' as const },
  ];
  const inputs = fallbackInputs(rules);
  it.each([
    [[20, 1], 'ok', 100, {}],
    [[20, 13], 'warning', 50, { 'vib.rms': 1 }],
    [[-20, 1], 'warning', 50, { temp: 1 }],
    [[99, 13], 'critical', 0, { temp: 1 }],
  ] as const)('values %j → %s', (values, severity, health, fired) => {
    const r = scoreByRules(rules, inputs, values);
    expect(inputs).toEqual(['temp', 'vib.rms']);
    expect(r.severity).toBe(severity);
    expect(r.healthScore).toBe(health);
    expect(r.contributions).toEqual({ temp: 0, 'vib.rms': 0, ...fired });
  });
});
