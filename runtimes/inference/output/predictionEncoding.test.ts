import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createPredictionEncoder,
  JsonBytes,
  type PredictionEncoder,
  type PredictionFields,
} from './predictionEncoding.ts';

const decoder = new TextDecoder();
const written = (write: (out: JsonBytes) => void): string => {
  const out = new JsonBytes(8);
  write(out);
  return decoder.decode(out.copy());
};
const formatFixed = (x: number): string => written((out) => out.fixed([x], 0));
const encode = (
  encoder: PredictionEncoder,
  p: PredictionFields,
  contributions: ArrayLike<number> | undefined,
  offset: number,
): string => written((out) => encoder.encode(out, p, contributions, offset));

describe('JsonBytes.fixed', () => {
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
    const doc = encode(encoder, { ...p, rulCycles: 12.5 }, contributions, 0);
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
    expect(JSON.parse(encode(encoder, p, contributions, 3)).contributions).toEqual({
      vibration: 9,
      temp: 9,
      'vibration.mean': 9,
    });
    expect(JSON.parse(encode(encoder, p, undefined, 0)).contributions).toEqual({});
  });
});

describe('JsonBytes', () => {
  it('writes numbers as JSON.stringify does', () => {
    for (const x of [
      0,
      -0,
      7,
      -7,
      10,
      99,
      100,
      1_700_000_000_123,
      Number.MAX_SAFE_INTEGER,
      -Number.MAX_SAFE_INTEGER,
      0.1,
      -2.5e-7,
      1e21,
      2 ** 53,
      123.456,
      NaN,
      Infinity,
      -Infinity,
    ])
      expect(written((out) => out.number(x))).toBe(JSON.stringify(x));
    fc.assert(
      fc.property(fc.double(), (x) => {
        expect(written((out) => out.number(x))).toBe(JSON.stringify(x));
      }),
    );
  });

  it('writes text as UTF-8 and grows past its capacity', () => {
    expect(written((out) => out.text('m-1 ünïcode ✓'))).toBe('m-1 ünïcode ✓');
    const long = 'x'.repeat(10_000);
    const out = new JsonBytes(4);
    out.text('ab');
    out.text(long);
    out.fixed([-12.5], 0);
    expect(out.length).toBe(10_007);
    expect(decoder.decode(out.copy())).toBe('ab' + long + '-12.5');
    out.reset();
    out.number(3);
    expect(decoder.decode(out.copy())).toBe('3');
  });

  it('appends documents back to back', () => {
    const encoder = createPredictionEncoder(['a'], {
      model: 'm',
      modelVersion: 'v',
      role: 'stable',
      fallback: false,
    });
    const out = new JsonBytes(16);
    const p = { machineId: 'x', ts: 1, score: 0.5, severity: 'ok' as const, healthScore: 50 };
    encoder.encode(out, p, [0.25], 0);
    const first = out.length;
    encoder.encode(out, { ...p, machineId: 'y' }, [1], 0);
    const text = decoder.decode(out.copy());
    expect(JSON.parse(text.slice(0, first))).toMatchObject({ machineId: 'x', contributions: { a: 0.25 } });
    expect(JSON.parse(text.slice(first))).toMatchObject({ machineId: 'y', contributions: { a: 1 } });
  });
});
