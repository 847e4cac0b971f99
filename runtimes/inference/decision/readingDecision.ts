// What the runtime decides for one reading once it is scored, the same for every output (NATS
// predictions, gRPC replies, machine health): severity, health, RUL, and the relaxed severity the
// alert hysteresis needs. A model score and a fallback rules outcome are the only two sources.
import type { FallbackResult } from './fallback.ts';
import {
  healthScoreOf,
  severityOf,
  severityWithMargin,
  type Severity,
  type Task,
  type Thresholds,
} from './severity.ts';

export interface ReadingDecision {
  score: number;
  severity: Severity;
  /** Severity with the hysteresis margin applied: an alert de-escalates only once this improves. */
  relaxed: Severity;
  healthScore: number;
  /** Remaining useful life (regression models only). */
  rulCycles: number | undefined;
  fallback: boolean;
  /** The rules' own contributions when fallback; model contributions come from the scoring run. */
  ruleContributions: Record<string, number> | undefined;
}

export function emptyDecision(): ReadingDecision {
  return {
    score: 0,
    severity: 'ok',
    relaxed: 'ok',
    healthScore: 100,
    rulCycles: undefined,
    fallback: false,
    ruleContributions: undefined,
  };
}

/** A model's score → the decision, written into `out` (the hot path reuses one object per batch). */
export function decideFromScore(
  task: Task,
  thresholds: Thresholds,
  hysteresis: number,
  score: number,
  out: ReadingDecision,
): ReadingDecision {
  out.score = score;
  out.severity = severityOf(task, score, thresholds);
  out.relaxed = severityWithMargin(task, score, thresholds, hysteresis);
  out.healthScore = healthScoreOf(task, score, thresholds);
  out.rulCycles = task === 'regression' ? score : undefined;
  out.fallback = false;
  out.ruleContributions = undefined;
  return out;
}

/** Fallback rules' outcome → the decision. Rule severities are outcomes, not scores: no margin. */
export function decideFromRules(r: FallbackResult, out: ReadingDecision): ReadingDecision {
  out.score = r.score;
  out.severity = r.severity;
  out.relaxed = r.severity;
  out.healthScore = r.healthScore;
  out.rulCycles = undefined;
  out.fallback = true;
  out.ruleContributions = r.contributions;
  return out;
}
