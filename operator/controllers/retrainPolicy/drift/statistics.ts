/**
 * Distances between two binned distributions over the same edges, laid out as telemetry histograms
 * (contracts/telemetry.ts): counts[0] below edges[0], counts[i] in [edges[i-1], edges[i]), the last
 * at or above the last edge. Counts are normalised here, so a window and a baseline of different
 * sizes compare directly. Pure; reference values in statistics.test.ts come from scipy.
 */

/**
 * Floor for a bin's proportion in PSI: an empty bin would make ln(p/q) infinite. 1e-4 (one reading in
 * ten thousand) is the usual choice in credit-scoring practice; proportions are floored, not
 * renormalised, so a bin empty on both sides contributes exactly 0.
 */
export const PSI_EPSILON = 1e-4;

function proportions(counts: readonly number[]): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => (total > 0 ? c / total : 0));
}

function sameLength(a: readonly number[], b: readonly number[]): void {
  if (a.length !== b.length) throw new Error(`histograms of ${a.length} and ${b.length} bins`);
}

/** Population stability index Σ (a − e)·ln(a / e), proportions floored at PSI_EPSILON. */
export function psi(expected: readonly number[], actual: readonly number[]): number {
  sameLength(expected, actual);
  const e = proportions(expected);
  const a = proportions(actual);
  let sum = 0;
  for (let i = 0; i < e.length; i++) {
    const pe = Math.max(e[i]!, PSI_EPSILON);
    const pa = Math.max(a[i]!, PSI_EPSILON);
    sum += (pa - pe) * Math.log(pa / pe);
  }
  return sum;
}

/** Kolmogorov–Smirnov distance: the largest gap between the two cumulative distributions at a bin edge. */
export function ksDistance(expected: readonly number[], actual: readonly number[]): number {
  sameLength(expected, actual);
  const e = proportions(expected);
  const a = proportions(actual);
  let ce = 0;
  let ca = 0;
  let max = 0;
  for (let i = 0; i < e.length - 1; i++) {
    ce += e[i]!;
    ca += a[i]!;
    max = Math.max(max, Math.abs(ce - ca));
  }
  return max;
}

/**
 * Where each bin's mass sits for the Wasserstein distance: inner bins at their midpoints; the two
 * open-ended outer bins half their neighbour's width beyond the outer edge (as if they were as wide
 * as the neighbouring bin), so the distance stays finite and in feature units.
 */
export function binMidpoints(edges: readonly number[]): number[] {
  if (edges.length < 2) throw new Error('bin midpoints need at least 2 edges');
  const first = edges[1]! - edges[0]!;
  const last = edges.at(-1)! - edges.at(-2)!;
  const inner = edges.slice(1).map((e, i) => (edges[i]! + e) / 2);
  return [edges[0]! - first / 2, ...inner, edges.at(-1)! + last / 2];
}

/** Wasserstein-1 (earth mover's) distance with each bin's mass at binMidpoints(edges): ∫|F_a − F_e| dx. */
export function wasserstein1(
  edges: readonly number[],
  expected: readonly number[],
  actual: readonly number[],
): number {
  sameLength(expected, actual);
  if (expected.length !== edges.length + 1)
    throw new Error(`${edges.length} edges need ${edges.length + 1} counts, not ${expected.length}`);
  const x = binMidpoints(edges);
  const e = proportions(expected);
  const a = proportions(actual);
  let ce = 0;
  let ca = 0;
  let sum = 0;
  for (let i = 0; i < x.length - 1; i++) {
    ce += e[i]!;
    ca += a[i]!;
    sum += Math.abs(ce - ca) * (x[i + 1]! - x[i]!);
  }
  return sum;
}
