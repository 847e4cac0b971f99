// Decodes one NATS message into a validated reading. Never throws: every fault becomes a Rejection
// with a machine-readable reason, because bad input must never crash the runtime or block a stream.
import type { RuntimeConfig, TimestampFormat } from '../../../contracts/runtimeConfig.ts';
import type { DeadLetterReason, Rejection } from '../output/deadLetterReason.ts';

export interface Reading {
  machineId: string;
  /** Epoch milliseconds. */
  ts: number;
  /**
   * Feature values in schema order; NaN where an optional feature is absent. The decoder's own
   * buffer, overwritten by its next call: a reading's values go into its window at once.
   */
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

/** What each timestamp format accepts, for rejection details. */
const EXPECTED_TIMESTAMP: Record<TimestampFormat, string> = {
  RFC3339: 'an RFC 3339 date-time string with a zone',
  UnixMillis: 'a number of milliseconds since the Unix epoch',
  UnixSeconds: 'a number of seconds since the Unix epoch',
};

const CHAR_T = 0x54;
const CHAR_t = 0x74;
const CHAR_SPACE = 0x20;
const CHAR_DASH = 0x2d;
const CHAR_COLON = 0x3a;
const CHAR_PLUS = 0x2b;
const CHAR_Z = 0x5a;
const CHAR_z = 0x7a;

/**
 * Whether `s` has RFC 3339's date-time shape: `YYYY-MM-DD`, `T` (or `t`, or the space RFC 3339 allows),
 * `hh:mm:ss`, optional fraction, and a zone (`Z` or `±hh:mm`). A handful of character checks instead
 * of a regex: this runs per reading, and Date.parse, which follows, rejects bad digits and ranges.
 * Mainly it refuses what Date.parse would take but RFC 3339 does not, above all a zone-less string,
 * which Date.parse reads as the pod's local time.
 */
function hasRfc3339Shape(s: string): boolean {
  const n = s.length;
  if (n < 20 || n > 40) return false;
  const sep = s.charCodeAt(10);
  if (
    s.charCodeAt(4) !== CHAR_DASH ||
    s.charCodeAt(7) !== CHAR_DASH ||
    (sep !== CHAR_T && sep !== CHAR_t && sep !== CHAR_SPACE) ||
    s.charCodeAt(13) !== CHAR_COLON ||
    s.charCodeAt(16) !== CHAR_COLON
  ) {
    return false;
  }
  const last = s.charCodeAt(n - 1);
  if (last === CHAR_Z || last === CHAR_z) return true;
  const sign = s.charCodeAt(n - 6);
  return (sign === CHAR_PLUS || sign === CHAR_DASH) && s.charCodeAt(n - 3) === CHAR_COLON && n >= 25;
}

/**
 * Epoch milliseconds of a timestamp field in the declared format: undefined when its JSON type is
 * wrong for the format, NaN (or a non-finite number) when it has the right type but is unusable.
 */
export function timestampMs(raw: unknown, format: TimestampFormat): number | undefined {
  if (format === 'RFC3339') {
    if (typeof raw !== 'string') return undefined;
    return hasRfc3339Shape(raw) ? Date.parse(raw) : NaN;
  }
  if (typeof raw !== 'number') return undefined;
  // Seconds are rounded to whole milliseconds: 1700000000.123 * 1000 is 1700000000123.0002 in binary
  // floating point, and that noise would otherwise reach windows and every prediction's ts.
  return format === 'UnixSeconds' ? Math.round(raw * 1000) : raw;
}

/** The inverse of timestampMs for a valid time: how a reading at `ms` carries its timestamp. */
export function timestampValue(ms: number, format: TimestampFormat): string | number {
  if (format === 'RFC3339') return new Date(ms).toISOString();
  return format === 'UnixSeconds' ? ms / 1000 : ms;
}

/** The 1-based `n`-th dot-separated token of `subject` (as subject.split('.')[n - 1], without the array). */
export function subjectToken(subject: string, n: number): string | undefined {
  let start = 0;
  for (let seen = 1; seen < n; seen++) {
    const dot = subject.indexOf('.', start);
    if (dot < 0) return undefined;
    start = dot + 1;
  }
  const end = subject.indexOf('.', start);
  return subject.slice(start, end < 0 ? subject.length : end);
}

export function createReadingDecoder(config: Pick<RuntimeConfig, 'schema' | 'input'>): ReadingDecoder {
  const { features, timestampField, timestampFormat, maxMessageBytes, maxFutureSkewMs } = config.schema;
  const wrongTimestampType = `timestamp must be ${EXPECTED_TIMESTAMP[timestampFormat]} (timestampFormat ${timestampFormat})`;
  const source = config.input.machineId;
  const count = features.length;
  const names = features.map((f) => f.name);
  const mins = features.map((f) => f.min ?? -Infinity);
  const maxs = features.map((f) => f.max ?? Infinity);
  const required = features.map((f) => f.required);
  // Reused: one typed array per reading was a tenth of the pipeline worker's garbage.
  const values = new Float64Array(count);

  const machineIdOf = (subject: string, doc: Record<string, unknown>): string | Rejection => {
    if ('subjectToken' in source) {
      const token = subjectToken(subject, source.subjectToken);
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
    if (rawTs === undefined)
      return reject('missing_field', 'timestamp is missing', timestampField, machineId);
    const ts = timestampMs(rawTs, timestampFormat);
    if (ts === undefined) return reject('bad_timestamp', wrongTimestampType, timestampField, machineId);
    if (!Number.isFinite(ts) || ts < 0)
      return reject(
        'bad_timestamp',
        `unusable ${timestampFormat} timestamp ${String(rawTs).slice(0, 40)}`,
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
