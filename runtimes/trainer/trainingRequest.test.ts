import { describe, expect, it } from 'vitest';
import { retentionWarning } from './streamReplay.ts';
import {
  candidateObjectName,
  checkGateMetric,
  metricValue,
  parseTrainingRequest,
} from './trainingRequest.ts';

const valid = {
  namespace: 'aero',
  policy: 'turbofan-retrain',
  fleet: { kind: 'SensorFleet' },
  model: { kind: 'MaintenanceModel' },
  stable: { version: 'v1', uri: 'file:///m.onnx', sha256: 'b'.repeat(64) },
  candidateVersion: 'turbofan-rul-rt-3',
  dataWindowMs: 86_400_000,
  metric: 'rmse',
  bucket: 'prognos-models',
};
const parse = (value: unknown) => parseTrainingRequest(JSON.stringify(value), 'REQ');

describe('training request', () => {
  it('parses a valid request, with and without a stable', () => {
    expect(parse(valid)).toEqual(valid);
    const first: Partial<typeof valid> = { ...valid };
    delete first.stable;
    expect(parse(first)).toEqual(first);
  });

  it.each([
    ['unset', undefined, /REQ is not set/],
    ['not JSON', '{', /REQ: not JSON/],
    ['an array', '[]', /REQ: expected a JSON object/],
    [
      'no namespace',
      JSON.stringify({ ...valid, namespace: '' }),
      /REQ\.namespace: expected a non-empty string/,
    ],
    ['no fleet', JSON.stringify({ ...valid, fleet: 'turbofans' }), /REQ\.fleet: expected the fleet manifest/],
    ['a fractional window', JSON.stringify({ ...valid, dataWindowMs: 1.5 }), /REQ\.dataWindowMs/],
    ['a zero window', JSON.stringify({ ...valid, dataWindowMs: 0 }), /REQ\.dataWindowMs/],
    [
      'a bad stable digest',
      JSON.stringify({ ...valid, stable: { ...valid.stable, sha256: 'XYZ' } }),
      /REQ\.stable\.sha256: expected 64 lower-case hex digits/,
    ],
    ['a stable without uri', JSON.stringify({ ...valid, stable: { version: 'v1' } }), /REQ\.stable\.uri/],
  ])('refuses %s', (_name, text, error) => {
    expect(() => parseTrainingRequest(text, 'REQ')).toThrow(error);
  });

  it('accepts only the metrics the task evaluates', () => {
    expect(() => checkGateMetric('regression', 'rmse')).not.toThrow();
    expect(() => checkGateMetric('classification', 'f1')).not.toThrow();
    expect(() => checkGateMetric('regression', 'f1')).toThrow(
      /not computed for task regression \(one of rmse, mae\)/,
    );
    expect(() => checkGateMetric('classification', 'rmse')).toThrow(/one of f1, precision, recall/);
  });

  it('reads the metric from an evaluation', () => {
    const metrics = { rows: 10, rmse: 12.5, mae: 9, last: { machines: 2, rmse: 11, phm08: 3 } };
    expect(metricValue(metrics, 'mae')).toBe(9);
    expect(() => metricValue(metrics, 'last')).toThrow(/no metric last/);
  });

  it('names the candidate object by namespace, model and version', () => {
    expect(candidateObjectName('aero', 'turbofan-rul', 'rt-3')).toBe('aero/turbofan-rul/rt-3.onnx');
  });
});

describe('retention warning', () => {
  const hour = 3_600_000;
  it.each([
    ['retention longer than the window', 2 * hour, hour, undefined],
    ['retention equal to the window', hour, hour, undefined],
    ['unlimited retention', 0, 30 * 24 * hour, undefined],
    [
      'retention shorter',
      hour,
      2 * hour,
      'stream S keeps 1h (max_age), less than the data window of 2h: older data is gone',
    ],
    [
      'odd durations',
      90_000,
      7 * 24 * hour,
      'stream S keeps 90s (max_age), less than the data window of 7d: older data is gone',
    ],
  ])('%s', (_name, maxAgeMs, windowMs, expected) => {
    expect(retentionWarning('S', maxAgeMs * 1e6, windowMs)).toBe(expected);
  });
});
