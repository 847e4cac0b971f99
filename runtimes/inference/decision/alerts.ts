// Alert state per machine: escalate at once, de-escalate only past the hysteresis margin, and emit
// only transitions (de-duplication). A machine with no state is `ok`.
import { SEVERITY_RANK, type Severity } from './severity.ts';

/** Pure transition: `raw` is the severity of the score, `relaxed` the severity of the score made `hysteresis` worse. */
export function nextAlertSeverity(current: Severity, raw: Severity, relaxed: Severity): Severity {
  if (SEVERITY_RANK[raw] > SEVERITY_RANK[current]) return raw;
  if (SEVERITY_RANK[relaxed] < SEVERITY_RANK[current]) return relaxed;
  return current;
}

export interface AlertTransition {
  machineId: string;
  from: Severity;
  to: Severity;
  ts: number;
}

export class AlertTracker {
  private readonly state = new Map<string, Severity>();

  /** Feeds one scored reading; returns the transition it causes, if any. */
  observe(machineId: string, ts: number, raw: Severity, relaxed: Severity): AlertTransition | undefined {
    const from = this.state.get(machineId) ?? 'ok';
    const to = nextAlertSeverity(from, raw, relaxed);
    if (to === from) return undefined;
    if (to === 'ok') this.state.delete(machineId);
    else this.state.set(machineId, to);
    return { machineId, from, to, ts };
  }

  current(machineId: string): Severity {
    return this.state.get(machineId) ?? 'ok';
  }

  forget(machineId: string): void {
    this.state.delete(machineId);
  }
}
