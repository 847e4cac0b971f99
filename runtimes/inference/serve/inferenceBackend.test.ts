import { describe, expect, it } from 'vitest';
import { parseRuntimeConfig } from '../../../contracts/runtimeConfig.ts';
import { readingAsMessage, readingFieldOf, toPredictionMessage } from './inferenceBackend.ts';

const base = {
  namespace: 'plant-a',
  fleet: 'pumps',
  model: 'pump',
  version: 'v1',
  role: 'stable',
  task: 'regression',
  nats: { servers: ['nats://127.0.0.1:4222'] },
  schema: {
    timestampField: 'time',
    timestampFormat: 'UnixMillis',
    features: [{ name: 'vibration', required: true }],
  },
  artifact: { uri: 'file:///m.onnx', sha256: 'a'.repeat(64), inputs: ['vibration'] },
  thresholds: { warning: 50, critical: 20 },
};
const bySubject = parseRuntimeConfig({
  ...base,
  input: {
    mode: 'core',
    subject: 'plant.*.pumps.*.readings',
    queueGroup: 'q',
    machineId: { subjectToken: 4 },
  },
});
const byField = parseRuntimeConfig({
  ...base,
  input: { mode: 'core', subject: 'plant.pumps.>', queueGroup: 'q', machineId: { field: 'machine' } },
});
const reading = { machineId: 'p-1', tsMs: 1234, features: { vibration: 2.5 } };
const text = (data: Uint8Array) => JSON.parse(new TextDecoder().decode(data)) as unknown;

describe('readingAsMessage', () => {
  it('puts the machine id in its subject token and fills other wildcards', () => {
    const m = readingAsMessage(reading, bySubject, 99) as { subject: string; data: Uint8Array };
    expect(m.subject).toBe('plant.grpc.pumps.p-1.readings');
    expect(text(m.data)).toEqual({ vibration: 2.5, time: 1234 });
  });

  it('puts the machine id in its field; ts 0 means now', () => {
    const m = readingAsMessage({ ...reading, tsMs: 0 }, byField, 99) as { subject: string; data: Uint8Array };
    expect(m.subject).toBe('plant.pumps.grpc');
    expect(text(m.data)).toEqual({ vibration: 2.5, time: 99, machine: 'p-1' });
  });

  it.each([
    ['RFC3339', '2023-11-14T22:13:20.123Z'],
    ['UnixMillis', 1_700_000_000_123],
    ['UnixSeconds', 1_700_000_000.123],
  ] as const)('writes ts_ms in the fleet format %s', (timestampFormat, want) => {
    const config = { ...bySubject, schema: { ...bySubject.schema, timestampFormat } };
    const m = readingAsMessage({ ...reading, tsMs: 1_700_000_000_123 }, config, 99);
    expect(text((m as { data: Uint8Array }).data)).toMatchObject({ time: want });
  });

  it('rejects a ts_ms no Date can hold', () => {
    expect(readingAsMessage({ ...reading, tsMs: 9e15 }, bySubject, 1)).toMatchObject({
      field: 'ts_ms',
      reason: 'bad_timestamp',
    });
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY])('rejects %s before JSON turns it into null', (v) => {
    expect(readingAsMessage({ ...reading, features: { vibration: v } }, bySubject, 1)).toEqual({
      field: 'features[vibration]',
      reason: 'not_finite',
    });
  });
});

describe('readingFieldOf', () => {
  it.each([
    [bySubject, 'subject', 'machine_id'],
    [byField, 'machine', 'machine_id'],
    [bySubject, 'time', 'ts_ms'],
    [bySubject, 'vibration', 'features[vibration]'],
    [bySubject, undefined, ''],
  ] as const)('%#: %s -> %s', (config, field, expected) => {
    expect(readingFieldOf(field, config)).toBe(expected);
  });
});

describe('toPredictionMessage', () => {
  it('maps enums, contributions and RUL; role can be overridden', () => {
    const m = toPredictionMessage(
      {
        machineId: 'p-1',
        ts: 5,
        score: 42,
        severity: 'warning',
        healthScore: 60,
        rulCycles: 42,
        contributions: { vibration: 1.5 },
        model: 'pump',
        modelVersion: 'v1',
        role: 'shadow',
        fallback: false,
      },
      'canary',
    );
    expect(m).toEqual({
      machineId: 'p-1',
      tsMs: 5,
      score: 42,
      severity: 'SEVERITY_WARNING',
      healthScore: 60,
      rul: 42,
      contributions: [{ feature: 'vibration', value: 1.5 }],
      model: 'pump',
      modelVersion: 'v1',
      role: 'ROLE_CANARY',
      fallback: false,
    });
  });
});
