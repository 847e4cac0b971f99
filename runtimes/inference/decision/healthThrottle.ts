// When a machine's shared health entry needs a write: at once on a severity change (or a first
// sighting that is not ok), otherwise a refresh once the last write is older than the interval.
// Shared by the machine-health store and the pipeline (which applies it before results leave the
// scoring thread, so only due entries cross it).
import type { Severity } from './severity.ts';

export interface LastWrite {
  at: number;
  severity: Severity;
}

/** What a new state needs: written now (a change), a refresh within the budget, or nothing yet. */
export function writeNeed(
  last: LastWrite | undefined,
  severity: Severity,
  now: number,
  minIntervalMs: number,
): 'change' | 'refresh' | 'none' {
  if (last === undefined) return severity === 'ok' ? 'refresh' : 'change';
  if (last.severity !== severity) return 'change';
  return now - last.at >= minIntervalMs ? 'refresh' : 'none';
}
