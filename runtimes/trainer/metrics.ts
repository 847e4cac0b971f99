// Holdout metrics, computed on the runtime's own scores of the holdout rows.

export interface RegressionMetrics {
  rows: number;
  rmse: number;
  mae: number;
  /** At each holdout machine's last labelled reading (C-MAPSS's protocol scores the last cycle). */
  last: { machines: number; rmse: number; phm08: number };
}

export interface ClassificationMetrics {
  rows: number;
  positives: number;
  /** Probability at or above which a row counts as a predicted failure. */
  threshold: number;
  precision: number;
  recall: number;
  f1: number;
}

/** PHM08 score: late predictions (d = predicted − true > 0) cost more than early ones. */
export function phm08(predicted: ArrayLike<number>, truth: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < predicted.length; i++) {
    const d = predicted[i]! - truth[i]!;
    s += d < 0 ? Math.exp(-d / 13) - 1 : Math.exp(d / 10) - 1;
  }
  return s;
}

function rmse(predicted: ArrayLike<number>, truth: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < predicted.length; i++) s += (predicted[i]! - truth[i]!) ** 2;
  return predicted.length > 0 ? Math.sqrt(s / predicted.length) : NaN;
}

/** `machines[i]` names row i's machine; rows are in time order per machine. */
export function regressionMetrics(
  predicted: ArrayLike<number>,
  truth: ArrayLike<number>,
  machines: readonly string[],
): RegressionMetrics {
  let absolute = 0;
  for (let i = 0; i < predicted.length; i++) absolute += Math.abs(predicted[i]! - truth[i]!);
  const lastOf = new Map<string, number>();
  machines.forEach((m, i) => lastOf.set(m, i));
  const last = [...lastOf.values()];
  const lastPredicted = last.map((i) => predicted[i]!);
  const lastTruth = last.map((i) => truth[i]!);
  return {
    rows: predicted.length,
    rmse: rmse(predicted, truth),
    mae: predicted.length > 0 ? absolute / predicted.length : NaN,
    last: {
      machines: last.length,
      rmse: rmse(lastPredicted, lastTruth),
      phm08: phm08(lastPredicted, lastTruth),
    },
  };
}

export function classificationMetrics(
  predicted: ArrayLike<number>,
  truth: ArrayLike<number>,
  threshold = 0.5,
): ClassificationMetrics {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let positives = 0;
  for (let i = 0; i < predicted.length; i++) {
    const yes = predicted[i]! >= threshold;
    const actual = truth[i]! === 1;
    if (actual) positives++;
    if (yes && actual) tp++;
    else if (yes) fp++;
    else if (actual) fn++;
  }
  const precision = tp + fp > 0 ? tp / (tp + fp) : 0;
  const recall = tp + fn > 0 ? tp / (tp + fn) : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { rows: predicted.length, positives, threshold, precision, recall, f1 };
}
