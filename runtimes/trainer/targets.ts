// Training targets from maintenance events, per machine, for its readings in time order.
//
//   regression      RUL: what remains until the machine's next `failure` event at or after the
//                   reading, capped (piecewise-linear RUL: early life is "healthy", not infinitely
//                   far from failure). In cycles (the machine's readings after this one up to the
//                   failure: the last reading before a failure has RUL 0, the unit of the runtime's
//                   rulCycles) or in time (the span to the failure in a unit such as hours or days).
//   classification  1 when the next failure is at most `horizon` away (cycles or time), else 0.
//   anomaly         normal operation only: readings more than `horizon` before any failure.
//
// Censoring: after a machine's last failure (or for a machine that never failed) its true remaining
// life is unknown; all that is known is a lower bound, what was observed without a failure since. A
// reading whose bound already reaches the cap (RUL) or the horizon (classification: no failure within
// it) has a known target: the cap, or 0. A reading closer to the end of the data than that has none
// and is dropped, so the model never learns "fails soon" from machines that merely stopped reporting.
// For anomaly, censored readings count as normal unless the end of the data is within the horizon.

export type Span = { cycles: number } | { ms: number };

export type TargetSpec =
  | { task: 'regression'; cap: number; unit: Span }
  | { task: 'classification'; horizon: Span }
  | { task: 'anomaly'; horizon: Span };

export interface MachineTargets {
  /** One per reading, NaN where the target is unknown (dropped). Anomaly: 1 for a normal reading. */
  targets: Float64Array;
  /** Readings whose target is unknown because the machine had not failed (yet) when the data ends. */
  censoredDropped: number;
  /** Readings whose target is known only through the cap or the horizon (censored but kept). */
  censoredKept: number;
}

/**
 * `ts`: the machine's reading times, ascending; `failures`: its failure event times, ascending.
 * A failure at the same time as a reading belongs to that reading's life (RUL 0 there).
 */
export function deriveTargets(
  ts: ArrayLike<number>,
  failures: readonly number[],
  spec: TargetSpec,
): MachineTargets {
  const n = ts.length;
  const targets = new Float64Array(n).fill(NaN);
  let censoredDropped = 0;
  let censoredKept = 0;
  const span = spec.task === 'regression' ? spec.unit : spec.horizon;
  let f = 0;
  // Index of the last reading at or before each failure, found as the readings advance.
  let failureEnd = -1;
  for (let i = 0; i < n; i++) {
    const t = ts[i]!;
    while (f < failures.length && failures[f]! < t) f++;
    const failure = f < failures.length ? failures[f]! : undefined;
    if (failure !== undefined && failureEnd < i) {
      failureEnd = i;
      while (failureEnd + 1 < n && ts[failureEnd + 1]! <= failure) failureEnd++;
    }
    // Remaining until the failure, or (censored) the observed lower bound until the data ends.
    const remaining =
      'cycles' in span
        ? (failure !== undefined ? failureEnd : n - 1) - i
        : ((failure ?? ts[n - 1]!) - t) / span.ms;
    const censored = failure === undefined;
    if (spec.task === 'regression') {
      if (!censored) targets[i] = Math.min(spec.cap, remaining);
      else if (remaining >= spec.cap) {
        targets[i] = spec.cap;
        censoredKept++;
      } else censoredDropped++;
      continue;
    }
    const limit = 'cycles' in spec.horizon ? spec.horizon.cycles : 1;
    if (spec.task === 'classification') {
      if (!censored) targets[i] = remaining <= limit ? 1 : 0;
      else if (remaining > limit) {
        targets[i] = 0;
        censoredKept++;
      } else censoredDropped++;
      continue;
    }
    if (remaining > limit) {
      targets[i] = 1;
      if (censored) censoredKept++;
    } else if (censored) censoredDropped++;
  }
  return { targets, censoredDropped, censoredKept };
}
