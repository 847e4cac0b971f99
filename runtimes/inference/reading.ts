// Decodes one NATS message into a validated reading. Never throws: every fault becomes a Rejection
// with a machine-readable reason, because bad input must never crash the runtime or block a stream.
import type { RuntimeConfig } from './config.ts';
import type { DeadLetterReason, Rejection } from './deadLetterReason.ts';

export interface Reading {
  machineId: string;
  /** Epoch milliseconds. */
  ts: number;
  /** Feature values in schema order; NaN where an optional feature is absent. */
  values: Float64Array;
}

export type DecodeResult = { ok: true; reading: Reading } | Rejection;

export type ReadingDecoder = (subject: string, data: Uint8Array, receivedAt: number) => DecodeResult;

export const MACHINE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

const utf8 = new TextDecoder('utf-8');

function reject(reason: DeadLetterReason, detail: string, field?: string, machineId?: string): Rejection {
  const r: Rejection = { ok: false, reason, detail };
  if (field !== undefined) r.field = field;
  if (machineId !== undefined) r.machineId = machineId;
  return r;
}

export function createReadingDecoder(config: Pick<RuntimeConfig, 'schema' | 'input'>): ReadingDecoder {
  const { features, timestampField, maxMessageBytes, maxFutureSkewMs } = config.schema;
  const source = config.input.machineId;
  const count = features.length;
  const names = features.map((f) => f.name);
  const mins = features.map((f) => f.min ?? -Infinity);
  const maxs = features.map((f) => f.max ?? Infinity);
  const required = features.map((f) => f.required);

  const machineIdOf = (subject: string, doc: Record<string, unknown>): string | Rejection => {
    if ('subjectToken' in source) {
      const token = subject.split('.')[source.subjectToken - 1];
      if (token === undefined)
        return reject('bad_machine_id', `subject has no token ${source.subjectToken}`, 'subject');
      if (!MACHINE_ID_PATTERN.test(token))
        return reject('bad_machine_id', 'machine id must match [A-Za-z0-9_-]{1,64}', 'subject');
      return token;
    }
    const raw = doc[source.field];
    if (raw === undefined) return reject('missing_field', 'machine id field is missing', source.field);
    const id = typeof raw === 'number' && Number.isSafeInteger(raw) && raw >= 0 ? String(raw) : raw;
    if (typeof id !== 'string') return reject('bad_machine_id', 'machine id must be a string', source.field);
    if (!MACHINE_ID_PATTERN.test(id))
      return reject('bad_machine_id', 'machine id must match [A-Za-z0-9_-]{1,64}', source.field);
    return id;
  };

  return (subject, data, receivedAt) => {
    if (data.byteLength > maxMessageBytes) {
      return reject('oversized', `${data.byteLength} bytes exceeds maxMessageBytes ${maxMessageBytes}`);
    }
    let doc: unknown;
    try {
      doc = JSON.parse(utf8.decode(data));
    } catch (error) {
      return reject('malformed_json', (error as Error).message);
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
      return reject('not_an_object', 'a reading must be a JSON object');
    const fields = doc as Record<string, unknown>;

    const machineId = machineIdOf(subject, fields);
    if (typeof machineId !== 'string') return machineId;

    const rawTs = fields[timestampField];
    let ts: number;
    if (rawTs === undefined)
      return reject('missing_field', 'timestamp is missing', timestampField, machineId);
    if (typeof rawTs === 'number') ts = rawTs;
    else if (typeof rawTs === 'string') ts = Date.parse(rawTs);
    else
      return reject(
        'bad_timestamp',
        'timestamp must be epoch milliseconds or an ISO-8601 string',
        timestampField,
        machineId,
      );
    if (!Number.isFinite(ts) || ts < 0)
      return reject(
        'bad_timestamp',
        `unusable timestamp ${String(rawTs).slice(0, 40)}`,
        timestampField,
        machineId,
      );
    if (ts > receivedAt + maxFutureSkewMs) {
      return reject(
        'timestamp_in_future',
        `${ts - receivedAt} ms ahead of receive time (max ${maxFutureSkewMs})`,
        timestampField,
        machineId,
      );
    }

    const values = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      const name = names[i]!;
      const v = fields[name];
      if (v === undefined || v === null) {
        if (required[i]) return reject('missing_field', 'required feature is missing', name, machineId);
        values[i] = NaN;
        continue;
      }
      if (typeof v !== 'number')
        return reject('wrong_type', `expected a number, got ${typeof v}`, name, machineId);
      if (!Number.isFinite(v)) return reject('not_finite', 'value is not finite', name, machineId);
      if (v < mins[i]! || v > maxs[i]!)
        return reject('out_of_range', `${v} outside [${mins[i]}, ${maxs[i]}]`, name, machineId);
      values[i] = v;
    }
    return { ok: true, reading: { machineId, ts, values } };
  };
}
