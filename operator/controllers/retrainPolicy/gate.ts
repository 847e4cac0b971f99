/**
 * The evaluation gate: does a candidate the trainer measured pass `spec.evaluation`? The candidate
 * and the stable were scored by the trainer on the same holdout, with the runtime's scoring code.
 * Pure.
 */
import { HIGHER_IS_BETTER, type Metric, type RetrainPolicySpec } from '../../api/retrainPolicy.ts';
import type { TrainingResult } from '../../../contracts/training.ts';

export interface GateVerdict {
  passed: boolean;
  message: string;
}

const fmt = (x: number) => String(Number(x.toPrecision(4)));

export function gate(evaluation: RetrainPolicySpec['evaluation'], result: TrainingResult): GateVerdict {
  const metric = evaluation.metric as Metric;
  if (result.metric !== metric)
    return { passed: false, message: `the trainer measured ${result.metric}, the gate compares ${metric}` };
  const candidate = result.candidateMetric;
  if (!evaluation.mustBeatStable)
    return {
      passed: true,
      message: `${metric} ${fmt(candidate)} (the gate does not compare with the stable)`,
    };
  const stable = result.stableMetric;
  // Nothing serves to compare with (a first model): nothing to beat.
  if (stable === undefined)
    return { passed: true, message: `${metric} ${fmt(candidate)}; no stable was scored to compare with` };
  const higher = HIGHER_IS_BETTER.includes(metric);
  const improvement = higher ? candidate - stable : stable - candidate;
  const need = evaluation.minImprovement;
  // Strictly better, by at least minImprovement: a tie does not replace what serves. The figures are
  // decimals binary floating point does not hold (0.85 - 0.8 < 0.05): a few ulps' difference is none.
  const slack = 4 * Number.EPSILON * Math.max(Math.abs(candidate), Math.abs(stable), need);
  const passed = improvement > slack && improvement >= need - slack;
  const relation = passed ? 'beats' : 'does not beat';
  const by = need > 0 ? ` by at least ${fmt(need)}` : '';
  return {
    passed,
    message: `${metric} ${fmt(candidate)} ${relation} the stable's ${fmt(stable)}${by} (${fmt(Math.abs(improvement))} ${improvement >= 0 ? 'better' : 'worse'})`,
  };
}
