// Prediction JSON without per-prediction objects: the same document JSON.stringify(prediction)
// gives (same keys, same order), built from pre-rendered key strings. Contributions are written
// with six decimals by integer formatting (JSON.stringify's shortest round-trip printing of 18
// float32-derived doubles was most of a prediction's ~9 µs encoding cost); the score keeps full
// precision. Everything is ASCII (machine ids, input names, model and version names are restricted
// by their patterns), so string length equals byte length and a batch encodes in one call.
import type { Role } from '../../../contracts/split.ts';
import type { Severity } from '../decision/severity.ts';

/** Decimal places of contributions in prediction JSON. */
export const CONTRIBUTION_DECIMALS = 6;
const SCALE = 10 ** CONTRIBUTION_DECIMALS;
/** Beyond this magnitude the scaled integer would lose exactness: print with JSON's own formatting. */
const FIXED_LIMIT = 2 ** 53 / SCALE;

/**
 * `x` with CONTRIBUTION_DECIMALS decimals, trailing zeros trimmed, as a JSON number. Values whose
 * magnitude rounds to zero print as 0; values the fixed form would lose most digits of
 * (0 < |x| < 1e-4) keep six significant digits in exponent form.
 */
export function formatFixed(x: number): string {
  if (!Number.isFinite(x)) return 'null'; // what JSON.stringify writes; contributions are finite in practice
  const negative = x < 0;
  const a = negative ? -x : x;
  if (a >= FIXED_LIMIT) return String(x);
  if (a < 1e-4) {
    if (a < 5e-13) return '0';
    return Number(x.toPrecision(6)).toString();
  }
  const scaled = Math.round(a * SCALE);
  const int = Math.floor(scaled / SCALE);
  let frac = scaled - int * SCALE;
  let s = negative ? '-' + int : '' + int;
  if (frac === 0) return s;
  let digits = CONTRIBUTION_DECIMALS;
  while (frac % 10 === 0) {
    frac /= 10;
    digits--;
  }
  const f = '' + frac;
  s += '.';
  for (let i = f.length; i < digits; i++) s += '0';
  return s + f;
}

/** A number as JSON.stringify writes it (finite numbers print the same through string conversion). */
const num = (x: number): string => (Number.isFinite(x) ? '' + x : 'null');

export interface PredictionFields {
  machineId: string;
  ts: number;
  score: number;
  severity: Severity;
  healthScore: number;
  rulCycles?: number;
  warming?: boolean;
  redelivered?: boolean;
}

export interface PredictionEncoder {
  /** One prediction document; contributions[offset .. offset + keys.length). */
  encode(p: PredictionFields, contributions: ArrayLike<number> | undefined, offset: number): string;
}

/** Pre-renders the constant parts of a model's predictions (contribution keys, model, version, role). */
export function createPredictionEncoder(
  contributionKeys: readonly string[],
  constant: { model: string; modelVersion: string; role: Role; fallback: boolean },
): PredictionEncoder {
  const keys = contributionKeys.map((name, j) => (j === 0 ? '' : ',') + JSON.stringify(name) + ':');
  const tail =
    `,"model":${JSON.stringify(constant.model)},"modelVersion":${JSON.stringify(constant.modelVersion)}` +
    `,"role":${JSON.stringify(constant.role)},"fallback":${constant.fallback}`;
  const width = contributionKeys.length;
  return {
    encode(p, contributions, offset) {
      let s =
        '{"machineId":"' +
        p.machineId +
        '","ts":' +
        num(p.ts) +
        ',"score":' +
        num(p.score) +
        ',"severity":"' +
        p.severity +
        '","healthScore":' +
        num(p.healthScore) +
        ',"contributions":{';
      if (contributions)
        for (let j = 0; j < width; j++) s += keys[j] + formatFixed(contributions[offset + j]!);
      s += '}' + tail;
      if (p.rulCycles !== undefined) s += ',"rulCycles":' + num(p.rulCycles);
      if (p.warming) s += ',"warming":true';
      if (p.redelivered) s += ',"redelivered":true';
      return s + '}';
    },
  };
}
