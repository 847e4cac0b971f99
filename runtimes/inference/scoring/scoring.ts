// Scores a batch with a loaded model: one ORT run that also carries the occlusion variants when
// contributions need them, then the task's score per row (probability, RUL, reconstruction error).
import {
  linearContributions,
  occlusionContributions,
  writeOcclusionVariants,
  type ContributionGroups,
} from './contributions.ts';
import type { LoadedModel, ScoreFrom } from './model.ts';

export type ExplainMethod = 'none' | 'linear' | 'occlusion';

export interface ScoredBatch {
  scores: Float64Array;
  /** n × groups contributions in group order; absent when explanations are off. */
  contributions?: Float32Array;
  method: ExplainMethod;
  /** Rows the ORT run scored (n, or n × (1 + groups) with occlusion). */
  rowsRun: number;
}

/** Task score per row from model output; `rows` are the inputs (needed for reconstruction error). */
export function scoresFromOutput(
  scoreFrom: ScoreFrom,
  output: Float32Array,
  outputWidth: number,
  rows: Float32Array,
  n: number,
  width: number,
  scales?: ArrayLike<number>,
): Float64Array {
  const scores = new Float64Array(n);
  if (scoreFrom === 'reconstruction') {
    for (let r = 0; r < n; r++) {
      let sum = 0;
      for (let j = 0; j < width; j++) {
        const d = (rows[r * width + j]! - output[r * width + j]!) / (scales ? scales[j]! : 1);
        sum += d * d;
      }
      scores[r] = sum / width;
    }
    return scores;
  }
  // A two-column classifier output is [p(ok), p(failure)].
  const column = outputWidth === 2 ? 1 : 0;
  for (let r = 0; r < n; r++) scores[r] = output[r * outputWidth + column]!;
  return scores;
}

export function explainMethodFor(
  model: LoadedModel,
  enabled: boolean,
  method: 'auto' | 'linear' | 'occlusion',
): ExplainMethod {
  if (!enabled) return 'none';
  return method !== 'occlusion' && model.metadata.linear ? 'linear' : 'occlusion';
}

/**
 * Scores `n` rows held at the start of `buffer` (capacity ≥ n × (1 + groups) × width floats when
 * explaining by occlusion; the variants are written behind the rows).
 */
export async function scoreBatch(
  model: LoadedModel,
  buffer: Float32Array,
  n: number,
  method: ExplainMethod,
  baseline: ArrayLike<number>,
  groups: ContributionGroups,
): Promise<ScoredBatch> {
  const width = model.rowWidth;
  const scales = model.metadata.baseline?.scales;
  const total = method === 'occlusion' ? n * (1 + groups.members.length) : n;
  if (method === 'occlusion') writeOcclusionVariants(buffer, n, width, baseline, groups);
  const output = await model.run(buffer, total);
  const all = scoresFromOutput(model.scoreFrom, output, model.outputWidth, buffer, total, width, scales);
  const scores = all.subarray(0, n);
  if (method === 'none') return { scores, method, rowsRun: total };
  const contributions =
    method === 'linear'
      ? linearContributions(model.metadata.linear!.coefficients, baseline, buffer, n, width, groups)
      : occlusionContributions(all, n, groups.members.length);
  return { scores, contributions, method, rowsRun: total };
}
