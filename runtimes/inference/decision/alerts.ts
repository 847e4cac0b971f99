// Alert state per machine: escalate at once, de-escalate only past the hysteresis margin, and emit
// only transitions (de-duplication). A machine with no state is `ok`. The state can be restored from
// elsewhere (the shared alert-state store), so a replica that takes a machine over continues from the
// state the previous one left.
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
  /** When the machine entered `from`, when that was not ok (the reading time of that transition). */
  previousSince?: number;
}

/** A machine's alert state that is not ok: its severity and since when (reading time, epoch ms). */
export interface AlertState {
  severity: Exclude<Severity, 'ok'>;
  since: number;
}

export class AlertTracker {
  private readonly state = new Map<string, AlertState>();

  /** Feeds one scored reading; returns the transition it causes, if any. */
  observe(machineId: string, ts: number, raw: Severity, relaxed: Severity): AlertTransition | undefined {
    const held = this.state.get(machineId);
    const from = held?.severity ?? 'ok';
    const to = nextAlertSeverity(from, raw, relaxed);
    if (to === from) return undefined;
    if (to === 'ok') this.state.delete(machineId);
    else this.state.set(machineId, { severity: to, since: ts });
    return { machineId, from, to, ts, ...(held ? { previousSince: held.since } : {}) };
  }

  current(machineId: string): Severity {
    return this.state.get(machineId)?.severity ?? 'ok';
  }

  /** The machine's state when it is not ok. */
  active(machineId: string): AlertState | undefined {
    return this.state.get(machineId);
  }

  /** Replaces the machine's state with one recorded elsewhere; undefined means ok. */
  restore(machineId: string, state: AlertState | undefined): void {
    if (state) this.state.set(machineId, { severity: state.severity, since: state.since });
    else this.state.delete(machineId);
  }

  forget(machineId: string): void {
    this.state.delete(machineId);
  }
}
