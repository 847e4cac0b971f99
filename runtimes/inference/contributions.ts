// Per-feature contributions to a prediction, in score units: how much each input moves the score
// away from the score at the baseline. Exact for models whose metadata declares them linear;
// otherwise occlusion: the same row with one input replaced by its baseline, all variants of a
// batch scored in the batch's single ORT run.

/** c[r, j] = w[j] · (x[r, j] − baseline[j]); they sum to score(x) − score(baseline). */
export function linearContributions(
  coefficients: ArrayLike<number>,
  baseline: ArrayLike<number>,
  rows: Float32Array,
  n: number,
  width: number,
): Float32Array {
  const out = new Float32Array(n * width);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < width; j++)
      out[r * width + j] = coefficients[j]! * (rows[r * width + j]! - baseline[j]!);
  }
  return out;
}

/** Writes, after the n original rows in `buffer`, n × width variants: row r with input j set to baseline[j]. */
export function writeOcclusionVariants(
  buffer: Float32Array,
  n: number,
  width: number,
  baseline: ArrayLike<number>,
): void {
  let at = n * width;
  for (let r = 0; r < n; r++) {
    const row = buffer.subarray(r * width, (r + 1) * width);
    for (let j = 0; j < width; j++) {
      buffer.set(row, at);
      buffer[at + j] = baseline[j]!;
      at += width;
    }
  }
}

/** c[r, j] = score(row r) − score(row r with input j occluded); variant scores follow the n originals. */
export function occlusionContributions(scores: ArrayLike<number>, n: number, width: number): Float32Array {
  const out = new Float32Array(n * width);
  for (let r = 0; r < n; r++) {
    const base = scores[r]!;
    for (let j = 0; j < width; j++) out[r * width + j] = base - scores[n + r * width + j]!;
  }
  return out;
}
