// Threshold rules that score readings when no model can serve (none loaded, or every candidate
// failed verification). Predictions made this way are marked fallback.
import type { RuntimeConfig } from '../../../contracts/runtimeConfig.ts';
import { SEVERITY_RANK, type Severity } from './severity.ts';

export type FallbackRule = RuntimeConfig['fallback']['rules'][number];

export interface FallbackResult {
  severity: Severity;
  /** 0 ok, 0.5 warning, 1 critical: a severity on the score axis, not a probability. */
  score: number;
  healthScore: number;
  /** 1 for each input whose rule fired at the resulting severity, 0 otherwise. */
  contributions: Record<string, number>;
}

const SCORE: Record<Severity, number> = { ok: 0, warning: 0.5, critical: 1 };
const HEALTH: Record<Severity, number> = { ok: 100, warning: 50, critical: 0 };

/** Unique input names the rules read, in first-use order (the fallback feature row). */
export function fallbackInputs(rules: readonly FallbackRule[]): string[] {
  return [...new Set(rules.map((r) => r.feature))];
}

/** `values[i]` is the value of `fallbackInputs(rules)[i]`. */
export function scoreByRules(
  rules: readonly FallbackRule[],
  inputs: readonly string[],
  values: ArrayLike<number>,
): FallbackResult {
  let severity: Severity = 'ok';
  const fired: Severity[] = rules.map((rule) => {
    const v = values[inputs.indexOf(rule.feature)]!;
    const hit = (rule.above !== undefined && v > rule.above) || (rule.below !== undefined && v < rule.below);
    if (hit && SEVERITY_RANK[rule.severity] > SEVERITY_RANK[severity]) severity = rule.severity;
    return hit ? rule.severity : 'ok';
  });
  const contributions: Record<string, number> = {};
  for (const name of inputs) contributions[name] = 0;
  if (severity !== 'ok')
    rules.forEach((rule, i) => fired[i] === severity && (contributions[rule.feature] = 1));
  return { severity, score: SCORE[severity], healthScore: HEALTH[severity], contributions };
}
