// A shadow's agreement with the stable, reading by reading: the shadow runtime listens to its
// model's prediction subject, where the stable and the shadow both publish (role in the payload),
// pairs the two predictions of the same reading (machine, ts) and counts pairs and agreements. The
// counts ride in telemetry, so the operator's analysis judges agreement without seeing predictions.
// Agreement by task: classification the same severity; anomaly the same anomaly flag (ok or not);
// regression |Δscore| within the tolerance when one is set, else the same severity.
import type { Severity } from '../decision/severity.ts';

/** Unpaired predictions are kept this long (the other version may lag behind by a batch or a redelivery). */
export const PAIR_WINDOW_MS = 60_000;
/** And at most this many per side: a stable far ahead of the shadow costs bounded memory. */
export const MAX_UNPAIRED = 200_000;

export interface ComparedPrediction {
  machineId: string;
  ts: number;
  score: number;
  severity: Severity;
  role: string;
  warming?: boolean;
  fallback?: boolean;
}

export interface ShadowAgreementCounts {
  shadowCompared: number;
  shadowAgreed: number;
}

type Task = 'classification' | 'regression' | 'anomaly';

interface Unpaired {
  score: number;
  severity: Severity;
  seenAt: number;
}

export function agrees(
  task: Task,
  tolerance: number | undefined,
  shadow: Pick<ComparedPrediction, 'score' | 'severity'>,
  stable: Pick<ComparedPrediction, 'score' | 'severity'>,
): boolean {
  if (task === 'anomaly') return (shadow.severity === 'ok') === (stable.severity === 'ok');
  if (task === 'regression' && tolerance !== undefined)
    return Math.abs(shadow.score - stable.score) <= tolerance;
  return shadow.severity === stable.severity;
}

export class ShadowComparison {
  readonly #task: Task;
  readonly #tolerance: number | undefined;
  readonly #now: () => number;
  // Insertion-ordered maps: the oldest entries are first, so expiry walks from the front.
  readonly #shadow = new Map<string, Unpaired>();
  readonly #stable = new Map<string, Unpaired>();
  #compared = 0;
  #agreed = 0;

  constructor(task: Task, tolerance: number | undefined, now: () => number = Date.now) {
    this.#task = task;
    this.#tolerance = tolerance;
    this.#now = now;
  }

  /**
   * One prediction seen on the subject. Warming predictions (windows not yet full on one side) and
   * fallback scores are not compared: they say nothing about the two models.
   */
  observe(p: ComparedPrediction): void {
    if (p.role !== 'shadow' && p.role !== 'stable') return;
    if (p.warming || p.fallback) return;
    const key = `${p.machineId}\n${p.ts}`;
    const mine = p.role === 'shadow' ? this.#shadow : this.#stable;
    const other = p.role === 'shadow' ? this.#stable : this.#shadow;
    const match = other.get(key);
    const now = this.#now();
    if (match) {
      other.delete(key);
      this.#compared += 1;
      const [shadow, stable] = p.role === 'shadow' ? [p, match] : [match, p];
      if (agrees(this.#task, this.#tolerance, shadow, stable)) this.#agreed += 1;
    } else if (!mine.has(key)) {
      mine.set(key, { score: p.score, severity: p.severity, seenAt: now });
    }
    this.#expire(this.#shadow, now);
    this.#expire(this.#stable, now);
  }

  #expire(map: Map<string, Unpaired>, now: number): void {
    for (const [key, entry] of map) {
      if (now - entry.seenAt <= PAIR_WINDOW_MS && map.size <= MAX_UNPAIRED) break;
      map.delete(key);
    }
  }

  /** Cumulative counts since start (telemetry sends their deltas). */
  counts(): ShadowAgreementCounts {
    return { shadowCompared: this.#compared, shadowAgreed: this.#agreed };
  }

  get unpaired(): number {
    return this.#shadow.size + this.#stable.size;
  }
}
