import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createPredictionEncoder, formatFixed } from './predictionEncoding.ts';

describe('formatFixed', () => {
  it('prints six decimals, trimmed, as valid JSON numbers', () => {
    expect(formatFixed(0)).toBe('0');
    expect(formatFixed(-0)).toBe('0');
    expect(formatFixed(1)).toBe('1');
    expect(formatFixed(0.5)).toBe('0.5');
    expect(formatFixed(-0.00012)).toBe('-0.00012');
    expect(formatFixed(0.1234567)).toBe('0.123457');
    expect(formatFixed(-12.0000004)).toBe('-12');
    expect(formatFixed(3.2e-7)).toBe('3.2e-7');
    expect(formatFixed(1e300)).toBe('1e+300');
    expect(formatFixed(Number.NaN)).toBe('null');
  });

  it('is within half a unit of the sixth decimal (or six significant digits below 1e-4)', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }), (x) => {
        const y = Number(JSON.parse(formatFixed(x)));
        const a = Math.abs(x);
        const tolerance = a < 1e-4 ? Math.max(a * 1e-5, 5e-13) : 5e-7 + a * 1e-15;
        expect(Math.abs(y - x)).toBeLessThanOrEqual(tolerance);
      }),
    );
  });
});

describe('createPredictionEncoder', () => {
  it('writes the same document as JSON.stringify of the prediction object (contributions rounded)', () => {
    const inputs = ['vibration', 'temp', 'vibration.mean'];
    const encoder = createPredictionEncoder(inputs, {
      model: 'pump',
      modelVersion: 'v1',
      role: 'canary',
      fallback: false,
    });
    const contributions = Float32Array.from([0.25, -0.125, 0.0625, 9, 9, 9]);
    const p = {
      machineId: 'm-1',
      ts: 1_700_000_000_000,
      score: 0.7123,
      severity: 'warning' as const,
      healthScore: 28.8,
    };
    const doc = encoder.encode({ ...p, rulCycles: 12.5 }, contributions, 0);
    expect(JSON.parse(doc)).toEqual({
      ...p,
      contributions: { vibration: 0.25, temp: -0.125, 'vibration.mean': 0.0625 },
      model: 'pump',
      modelVersion: 'v1',
      role: 'canary',
      fallback: false,
      rulCycles: 12.5,
    });
    // Key order follows the object the pipeline builds.
    expect(Object.keys(JSON.parse(doc))).toEqual([
      'machineId',
      'ts',
      'score',
      'severity',
      'healthScore',
      'contributions',
      'model',
      'modelVersion',
      'role',
      'fallback',
      'rulCycles',
    ]);
    expect(JSON.parse(encoder.encode(p, contributions, 3)).contributions).toEqual({
      vibration: 9,
      temp: 9,
      'vibration.mean': 9,
    });
    expect(JSON.parse(encoder.encode(p, undefined, 0)).contributions).toEqual({});
  });
});
