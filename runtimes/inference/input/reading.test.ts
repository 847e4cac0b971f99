import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RuntimeConfig, TimestampFormat } from '../../../contracts/runtimeConfig.ts';
import { DEAD_LETTER_REASONS } from '../output/deadLetterReason.ts';
import { createReadingDecoder, subjectToken, timestampMs, timestampValue } from './reading.ts';

type DecoderConfig = Pick<RuntimeConfig, 'schema' | 'input'>;

const schema: DecoderConfig['schema'] = {
  timestampField: 'ts',
  timestampFormat: 'UnixMillis',
  maxMessageBytes: 256,
  maxFutureSkewMs: 60_000,
  features: [
    { name: 'vibration', min: 0, max: 50, required: true },
    { name: 'temp', required: false },
  ],
};
const bySubject: DecoderConfig = {
  schema,
  input: { mode: 'core', subject: 'p.*.r', machineId: { subjectToken: 2 } },
};
const byField: DecoderConfig = {
  schema,
  input: { mode: 'core', subject: 'p.r', machineId: { field: 'machine_id' } },
};
const now = 1_700_000_000_000;
const enc = (s: string) => new TextEncoder().encode(s);
const withFormat = (timestampFormat: TimestampFormat): DecoderConfig => ({
  ...bySubject,
  schema: { ...schema, timestampFormat },
});

describe('reading decoder', () => {
  it('decodes a valid reading with the machine id from a subject token', () => {
    const r = createReadingDecoder(bySubject)('p.m-1.r', enc(`{"ts":${now},"vibration":3.5,"temp":40}`), now);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.reading.machineId).toBe('m-1');
    expect(r.reading.ts).toBe(now);
    expect([...r.reading.values]).toEqual([3.5, 40]);
  });

  it('decodes the machine id from a field and absent optional features', () => {
    const r = createReadingDecoder(byField)(
      'p.r',
      enc(`{"ts":${now},"machine_id":"pump_7","vibration":1}`),
      now,
    );
    expect(r.ok && r.reading.machineId).toBe('pump_7');
    expect(r.ok && Number.isNaN(r.reading.values[1])).toBe(true);
  });

  const iso = (ms: number) => JSON.stringify(new Date(ms).toISOString());
  it.each<[string, TimestampFormat, string, number]>([
    ['RFC 3339 UTC', 'RFC3339', '"2023-11-14T22:13:20Z"', now],
    ['RFC 3339 with fraction and offset', 'RFC3339', '"2023-11-14T23:13:20.250+01:00"', now + 250],
    ['RFC 3339 lower case', 'RFC3339', '"2023-11-14t22:13:20z"', now],
    ['RFC 3339 with a space', 'RFC3339', '"2023-11-14 21:43:20-00:30"', now],
    ['RFC 3339 from toISOString', 'RFC3339', iso(now - 1), now - 1],
    ['epoch milliseconds', 'UnixMillis', `${now}`, now],
    ['fractional milliseconds', 'UnixMillis', `${now - 0.5}`, now - 0.5],
    ['epoch seconds', 'UnixSeconds', `${now / 1000}`, now],
    ['fractional seconds, rounded to ms', 'UnixSeconds', '1699999999.123', now - 877],
  ])('accepts %s', (_name, format, ts, want) => {
    const r = createReadingDecoder(withFormat(format))('p.m.r', enc(`{"ts":${ts},"vibration":1}`), now);
    expect(r.ok && r.reading.ts).toBe(want);
  });

  it.each<[string, TimestampFormat, string, string]>([
    ['a number as RFC 3339', 'RFC3339', `${now}`, 'RFC 3339'],
    ['a zone-less RFC 3339 time (local time)', 'RFC3339', '"2023-11-14T22:13:20"', 'unusable'],
    ['a date alone as RFC 3339', 'RFC3339', '"2023-11-14"', 'unusable'],
    ['no seconds as RFC 3339', 'RFC3339', '"2023-11-14T22:13Z"', 'unusable'],
    ['a compact offset as RFC 3339', 'RFC3339', '"2023-11-14T22:13:20+0100"', 'unusable'],
    ['an hour out of range as RFC 3339', 'RFC3339', '"2023-11-14T25:13:20Z"', 'unusable'],
    ['prose as RFC 3339', 'RFC3339', '"yesterday at noon, roughly"', 'unusable'],
    ['a boolean as RFC 3339', 'RFC3339', 'true', 'RFC 3339'],
    ['a string as milliseconds', 'UnixMillis', '"2023-11-14T22:13:20Z"', 'milliseconds'],
    ['a numeric string as milliseconds', 'UnixMillis', `"${now}"`, 'milliseconds'],
    ['null as milliseconds', 'UnixMillis', 'null', 'milliseconds'],
    ['a string as seconds', 'UnixSeconds', '"1700000000"', 'seconds'],
    ['an object as seconds', 'UnixSeconds', '{}', 'seconds'],
    ['overflowing seconds', 'UnixSeconds', '1e999', 'unusable'],
    ['negative seconds', 'UnixSeconds', '-1', 'unusable'],
  ])('rejects %s as bad_timestamp', (_name, format, ts, detail) => {
    const r = createReadingDecoder(withFormat(format))('p.m.r', enc(`{"ts":${ts},"vibration":1}`), now);
    expect(r).toMatchObject({ ok: false, reason: 'bad_timestamp', field: 'ts', machineId: 'm' });
    expect(!r.ok && r.detail).toContain(detail);
  });

  it('checks future skew after converting seconds', () => {
    const decode = createReadingDecoder(withFormat('UnixSeconds'));
    const at = (s: number) => decode('p.m.r', enc(`{"ts":${s},"vibration":1}`), now);
    expect(at(now / 1000 + 60).ok).toBe(true);
    expect(at(now / 1000 + 61)).toMatchObject({ ok: false, reason: 'timestamp_in_future' });
  });

  it('timestampValue writes what timestampMs reads back, in every format', () => {
    const lastRfc3339Ms = Date.parse('9999-12-31T23:59:59.999Z');
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: lastRfc3339Ms }),
        fc.constantFrom<TimestampFormat>('RFC3339', 'UnixMillis', 'UnixSeconds'),
        (ms, format) => timestampMs(timestampValue(ms, format), format) === ms,
      ),
      { numRuns: 3000 },
    );
  });

  it('accepts non-negative integer machine ids in a field', () => {
    const r = createReadingDecoder(byField)('p.r', enc(`{"ts":${now},"machine_id":42,"vibration":1}`), now);
    expect(r.ok && r.reading.machineId).toBe('42');
  });

  const cases: [string, DecoderConfig, string, string, string, string | undefined][] = [
    [
      'oversized',
      bySubject,
      'p.m.r',
      `{"ts":${now},"vibration":1,"pad":"${'x'.repeat(300)}"}`,
      'oversized',
      undefined,
    ],
    ['malformed json', bySubject, 'p.m.r', '{"ts":', 'malformed_json', undefined],
    ['array', bySubject, 'p.m.r', '[1,2]', 'not_an_object', undefined],
    ['null', bySubject, 'p.m.r', 'null', 'not_an_object', undefined],
    ['number', bySubject, 'p.m.r', '42', 'not_an_object', undefined],
    ['missing subject token', bySubject, 'p', `{"ts":${now},"vibration":1}`, 'bad_machine_id', 'subject'],
    [
      'bad id charset in subject',
      bySubject,
      'p.m$x.r',
      `{"ts":${now},"vibration":1}`,
      'bad_machine_id',
      'subject',
    ],
    ['missing id field', byField, 'p.r', `{"ts":${now},"vibration":1}`, 'missing_field', 'machine_id'],
    [
      'object id field',
      byField,
      'p.r',
      `{"ts":${now},"vibration":1,"machine_id":{}}`,
      'bad_machine_id',
      'machine_id',
    ],
    [
      'too long id',
      byField,
      'p.r',
      `{"ts":${now},"vibration":1,"machine_id":"${'a'.repeat(65)}"}`,
      'bad_machine_id',
      'machine_id',
    ],
    [
      'negative id',
      byField,
      'p.r',
      `{"ts":${now},"vibration":1,"machine_id":-1}`,
      'bad_machine_id',
      'machine_id',
    ],
    ['missing ts', bySubject, 'p.m.r', '{"vibration":1}', 'missing_field', 'ts'],
    ['boolean ts', bySubject, 'p.m.r', '{"ts":true,"vibration":1}', 'bad_timestamp', 'ts'],
    ['unparsable ts', bySubject, 'p.m.r', '{"ts":"yesterday","vibration":1}', 'bad_timestamp', 'ts'],
    ['negative ts', bySubject, 'p.m.r', '{"ts":-5,"vibration":1}', 'bad_timestamp', 'ts'],
    ['overflowing ts', bySubject, 'p.m.r', '{"ts":1e999,"vibration":1}', 'bad_timestamp', 'ts'],
    ['future ts', bySubject, 'p.m.r', `{"ts":${now + 60_001},"vibration":1}`, 'timestamp_in_future', 'ts'],
    ['missing required', bySubject, 'p.m.r', `{"ts":${now},"temp":1}`, 'missing_field', 'vibration'],
    ['null required', bySubject, 'p.m.r', `{"ts":${now},"vibration":null}`, 'missing_field', 'vibration'],
    ['string feature', bySubject, 'p.m.r', `{"ts":${now},"vibration":"1"}`, 'wrong_type', 'vibration'],
    ['infinite feature', bySubject, 'p.m.r', `{"ts":${now},"vibration":1e999}`, 'not_finite', 'vibration'],
    ['below min', bySubject, 'p.m.r', `{"ts":${now},"vibration":-0.1}`, 'out_of_range', 'vibration'],
    ['above max', bySubject, 'p.m.r', `{"ts":${now},"vibration":50.5}`, 'out_of_range', 'vibration'],
    [
      'wrong optional type',
      bySubject,
      'p.m.r',
      `{"ts":${now},"vibration":1,"temp":[1]}`,
      'wrong_type',
      'temp',
    ],
  ];
  it.each(cases)('rejects %s', (_name, config, subject, payload, reason, field) => {
    const r = createReadingDecoder(config)(subject, enc(payload), now);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reason).toBe(reason);
    expect(r.field).toBe(field);
    expect(r.detail.length).toBeGreaterThan(0);
  });

  it('keeps the machine id on rejections after it is known', () => {
    const r = createReadingDecoder(bySubject)('p.m7.r', enc(`{"ts":${now},"vibration":99}`), now);
    expect(!r.ok && r.machineId).toBe('m7');
  });

  const decoders = [createReadingDecoder(bySubject), createReadingDecoder(byField)];
  const outcomeIsWellFormed = (r: ReturnType<(typeof decoders)[0]>) =>
    r.ok
      ? r.reading.values.length === 2 && Number.isFinite(r.reading.ts)
      : DEAD_LETTER_REASONS.includes(r.reason);

  it('never throws on arbitrary bytes and subjects', () => {
    fc.assert(
      fc.property(fc.string(), fc.uint8Array({ maxLength: 400 }), (subject, bytes) =>
        decoders.every((d) => outcomeIsWellFormed(d(subject, bytes, now))),
      ),
      { numRuns: 2000 },
    );
  });

  it('never throws on arbitrary JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const bytes = enc(JSON.stringify(value) ?? 'null');
        return decoders.every((d) => outcomeIsWellFormed(d('p.m.r', bytes, now)));
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on near-valid readings with hostile field values', () => {
    const hostile = fc.oneof(
      fc.double(),
      fc.string(),
      fc.constant(null),
      fc.boolean(),
      fc.constantFrom('NaN', 'Infinity', '1e999', '-0', '__proto__'),
      fc.array(fc.integer()),
      fc.object(),
    );
    fc.assert(
      fc.property(
        fc.record({ ts: hostile, vibration: hostile, temp: hostile, machine_id: hostile }),
        (rec) => {
          const bytes = enc(JSON.stringify(rec));
          return decoders.every((d) => {
            const r = d('p.m.r', bytes, now);
            if (!outcomeIsWellFormed(r)) return false;
            // Anything accepted is within the declared schema.
            return !r.ok || (r.reading.values[0]! >= 0 && r.reading.values[0]! <= 50);
          });
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('accepts every reading that satisfies the schema', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 50, noNaN: true }),
        fc.option(fc.double({ noNaN: true, noDefaultInfinity: true })),
        fc.integer({ min: 0, max: now }),
        fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
        (vibration, temp, ts, id) => {
          const r = createReadingDecoder(byField)(
            'p.r',
            enc(JSON.stringify({ ts, vibration, temp, machine_id: id })),
            now,
          );
          return r.ok && r.reading.machineId === id && r.reading.values[0] === vibration;
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('subjectToken', () => {
  it('is subject.split(".")[n - 1]', () => {
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[a-z0-9.-]{0,6}$/), { maxLength: 5 }).map((parts) => parts.join('.')),
        fc.integer({ min: 1, max: 8 }),
        (subject, n) => {
          expect(subjectToken(subject, n)).toBe(subject.split('.')[n - 1]);
        },
      ),
    );
  });
});

describe('decoded values', () => {
  it('are the decoder’s own buffer, overwritten by its next reading', () => {
    const decode = createReadingDecoder(bySubject);
    const now = Date.now();
    const a = decode('p.m-1.r', enc(`{"ts":${now},"vibration":1,"temp":2}`), now);
    const valuesOfA = a.ok ? [...a.reading.values] : [];
    const b = decode('p.m-2.r', enc(`{"ts":${now},"vibration":3,"temp":4}`), now);
    expect(valuesOfA).toEqual([1, 2]);
    expect(b.ok && [...b.reading.values]).toEqual([3, 4]);
    expect(a.ok && b.ok && a.reading.values === b.reading.values).toBe(true);
  });
});
