// Severity and the 0-100 health score from a task's score and its thresholds. Classification and
// anomaly scores grow with risk; a regression score is remaining useful life, which shrinks with it.
import type { RuntimeConfig } from '../../../contracts/runtimeConfig.ts';

export type Severity = 'ok' | 'warning' | 'critical';
export type Task = RuntimeConfig['task'];
export type Thresholds = RuntimeConfig['thresholds'];

export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { ok: 0, warning: 1, critical: 2 };

export function higherIsWorse(task: Task): boolean {
  return task !== 'regression';
}

export function severityOf(task: Task, score: number, t: Thresholds): Severity {
  if (higherIsWorse(task)) return score >= t.critical ? 'critical' : score >= t.warning ? 'warning' : 'ok';
  return score <= t.critical ? 'critical' : score <= t.warning ? 'warning' : 'ok';
}

/** Severity the score would have if it were `margin` worse: an alert de-escalates only below it. */
export function severityWithMargin(task: Task, score: number, t: Thresholds, margin: number): Severity {
  return severityOf(task, higherIsWorse(task) ? score + margin : score - margin, t);
}

const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);
const round1 = (v: number) => Math.round(v * 10) / 10;

export function healthScoreOf(task: Task, score: number, t: Thresholds): number {
  switch (task) {
    case 'classification':
      return round1(100 * (1 - clamp01(score)));
    case 'regression': {
      const horizon = t.horizonCycles ?? 2 * t.warning;
      return horizon > 0 ? round1(100 * clamp01(score / horizon)) : score > 0 ? 100 : 0;
    }
    case 'anomaly': {
      const scale = t.errorScale ?? t.critical;
      return scale > 0 ? round1(100 * (1 - clamp01(score / scale))) : score > 0 ? 0 : 100;
    }
  }
}

/** Score histogram edges per task: probabilities in tenths, RUL up to twice the horizon, error up to twice its scale. */
export function scoreBinEdges(task: Task, t: Thresholds): number[] {
  const top =
    task === 'classification'
      ? 1
      : task === 'regression'
        ? 2 * (t.horizonCycles ?? 2 * t.warning)
        : 2 * (t.errorScale ?? t.critical);
  const safeTop = top > 0 ? top : 1;
  return Array.from({ length: 11 }, (_, i) => (safeTop * i) / 10);
}
