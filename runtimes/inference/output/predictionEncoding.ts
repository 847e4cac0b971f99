// Prediction JSON without per-prediction objects or strings: the same document
// JSON.stringify(prediction) gives (same keys, same order), written as bytes into one reused buffer
// from pre-encoded key bytes. Contributions are written with six decimals by integer arithmetic
// (JSON.stringify's shortest round-trip printing of float32-derived doubles was most of a
// prediction's encoding cost); the score keeps full precision. Writing bytes instead of
// concatenating strings spares the pipeline worker a rope of ~20 strings per prediction and the
// batch's UTF-8 encode: allocation there is what its garbage collections and page faults cost.
import type { Role } from '../../../contracts/split.ts';
import type { Severity } from '../decision/severity.ts';

/** Decimal places of contributions in prediction JSON. */
export const CONTRIBUTION_DECIMALS = 6;
const SCALE = 10 ** CONTRIBUTION_DECIMALS;
/** Beyond this magnitude the scaled integer would lose exactness: print with JSON's own formatting. */
const FIXED_LIMIT = 2 ** 53 / SCALE;

const CHAR_0 = 0x30;
const CHAR_MINUS = 0x2d;
const CHAR_DOT = 0x2e;
const utf8 = new TextEncoder();
const NULL = utf8.encode('null');

/** JSON text appended as UTF-8 bytes to a growable buffer, reused from batch to batch. */
export class JsonBytes {
  #bytes: Uint8Array;
  #length = 0;

  constructor(capacity = 64 * 1024) {
    this.#bytes = new Uint8Array(capacity);
  }

  /** Bytes written since the last reset. */
  get length(): number {
    return this.#length;
  }

  reset(): void {
    this.#length = 0;
  }

  /** A copy of the bytes written (its own buffer, so it can be transferred while this one is reused). */
  copy(): Uint8Array {
    return this.#bytes.slice(0, this.#length);
  }

  bytes(b: Uint8Array): void {
    const n = b.length;
    this.#room(n);
    // A loop, not set(): these are a prediction's short constant parts, below set()'s call overhead.
    const bytes = this.#bytes;
    const at = this.#length;
    for (let i = 0; i < n; i++) bytes[at + i] = b[i]!;
    this.#length = at + n;
  }

  /** A string as it is (callers write any quotes and escapes): ASCII byte by byte, anything else as UTF-8. */
  text(s: string): void {
    const n = s.length;
    this.#room(n);
    const bytes = this.#bytes;
    let at = this.#length;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.#length = at;
        this.#utf8(s.slice(i));
        return;
      }
      bytes[at++] = c;
    }
    this.#length = at;
  }

  /** A number as JSON.stringify writes it: safe integers digit by digit, other numbers via String, non-finite as null. */
  number(x: number): void {
    if (Number.isSafeInteger(x)) this.#integer(x);
    else if (Number.isFinite(x)) this.text('' + x);
    else this.bytes(NULL);
  }

  /**
   * `x` = values[index] with CONTRIBUTION_DECIMALS decimals, trailing zeros trimmed, as a JSON
   * number. Values whose magnitude rounds to zero print as 0; values the fixed form would lose most
   * digits of (0 < |x| < 1e-4) keep six significant digits in exponent form.
   */
  fixed(values: ArrayLike<number>, index: number): void {
    // The value is read here rather than passed: a number argument is boxed on every call.
    const x = values[index]!;
    // What JSON.stringify writes; contributions are finite in practice.
    if (!Number.isFinite(x)) return this.bytes(NULL);
    const negative = x < 0;
    const a = negative ? -x : x;
    if (a >= FIXED_LIMIT) return this.text('' + x);
    if (a < 1e-4) {
      if (a < 5e-13) return this.#integer(0);
      return this.text(Number(x.toPrecision(6)).toString());
    }
    const scaled = Math.round(a * SCALE);
    const int = Math.floor(scaled / SCALE);
    let frac = scaled - int * SCALE;
    this.#room(CONTRIBUTION_DECIMALS + 18);
    if (negative) this.#bytes[this.#length++] = CHAR_MINUS;
    this.#integer(int);
    if (frac === 0) return;
    let digits = CONTRIBUTION_DECIMALS;
    while (frac % 10 === 0) {
      frac /= 10;
      digits--;
    }
    const bytes = this.#bytes;
    bytes[this.#length++] = CHAR_DOT;
    // `digits` places, the leading ones zeros: written from the last.
    let at = this.#length + digits;
    this.#length = at;
    for (let i = 0; i < digits; i++) {
      const q = Math.floor(frac / 10);
      bytes[--at] = CHAR_0 + (frac - q * 10);
      frac = q;
    }
  }

  /** A safe integer in decimal (-0 as 0, as JSON.stringify). */
  #integer(x: number): void {
    this.#room(17);
    const bytes = this.#bytes;
    if (x < 0) {
      bytes[this.#length++] = CHAR_MINUS;
      x = -x;
    }
    let digits = 1;
    for (let t = x; t >= 10; t = Math.floor(t / 10)) digits++;
    let at = this.#length + digits;
    this.#length = at;
    do {
      const q = Math.floor(x / 10);
      bytes[--at] = CHAR_0 + (x - q * 10);
      x = q;
    } while (x > 0);
  }

  #utf8(s: string): void {
    // At most three bytes per UTF-16 unit.
    this.#room(s.length * 3);
    this.#length += utf8.encodeInto(s, this.#bytes.subarray(this.#length)).written;
  }

  #room(k: number): void {
    if (this.#length + k <= this.#bytes.length) return;
    const grown = new Uint8Array(Math.max(this.#bytes.length * 2, this.#length + k));
    grown.set(this.#bytes.subarray(0, this.#length));
    this.#bytes = grown;
  }
}

export interface PredictionFields {
  machineId: string;
  ts: number;
  score: number;
  severity: Severity;
  healthScore: number;
  rulCycles?: number | undefined;
  warming?: boolean;
  redelivered?: boolean;
}

export interface PredictionEncoder {
  /** Appends one prediction document to `out`; contributions[offset .. offset + keys.length). */
  encode(
    out: JsonBytes,
    p: PredictionFields,
    contributions: ArrayLike<number> | undefined,
    offset: number,
  ): void;
}

/** Pre-encodes the constant parts of a model's predictions (contribution keys, model, version, role). */
export function createPredictionEncoder(
  contributionKeys: readonly string[],
  constant: { model: string; modelVersion: string; role: Role; fallback: boolean },
): PredictionEncoder {
  const keys = contributionKeys.map((name, j) =>
    utf8.encode((j === 0 ? '' : ',') + JSON.stringify(name) + ':'),
  );
  const tail = utf8.encode(
    `},"model":${JSON.stringify(constant.model)},"modelVersion":${JSON.stringify(constant.modelVersion)}` +
      `,"role":${JSON.stringify(constant.role)},"fallback":${constant.fallback}`,
  );
  const open = utf8.encode('{"machineId":"');
  const ts = utf8.encode('","ts":');
  const score = utf8.encode(',"score":');
  const severity = utf8.encode(',"severity":"');
  const healthScore = utf8.encode('","healthScore":');
  const contributionsOpen = utf8.encode(',"contributions":{');
  const rul = utf8.encode(',"rulCycles":');
  const close = utf8.encode('}');
  const warming = utf8.encode(',"warming":true');
  const redelivered = utf8.encode(',"redelivered":true');
  const width = contributionKeys.length;
  return {
    encode(out, p, contributions, offset) {
      // Machine ids match MACHINE_ID_PATTERN and severities are fixed words: nothing to escape.
      out.bytes(open);
      out.text(p.machineId);
      out.bytes(ts);
      out.number(p.ts);
      out.bytes(score);
      out.number(p.score);
      out.bytes(severity);
      out.text(p.severity);
      out.bytes(healthScore);
      out.number(p.healthScore);
      out.bytes(contributionsOpen);
      if (contributions)
        for (let j = 0; j < width; j++) {
          out.bytes(keys[j]!);
          out.fixed(contributions, offset + j);
        }
      out.bytes(tail);
      if (p.rulCycles !== undefined) {
        out.bytes(rul);
        out.number(p.rulCycles);
      }
      if (p.warming) out.bytes(warming);
      if (p.redelivered) out.bytes(redelivered);
      out.bytes(close);
    },
  };
}
