// One machine alert as Alertmanager knows it: identified by its labels (namespace, model, machine,
// severity), so a warning and a critical of the same machine are two alerts, and an escalation
// resolves the one and fires the other. Built from the pipeline's transitions and refreshes.
import type { AlertEvent, AlertRefresh } from '../pipeline/pipeline.ts';

export type AlertSeverity = 'warning' | 'critical';

/** What is delivered for one (machine, severity): a firing alert, or its resolution. */
export interface MachineAlert {
  machineId: string;
  severity: AlertSeverity;
  firing: boolean;
  /** When this severity started (the reading time of the transition into it), epoch ms. */
  since: number;
  /** Firing: the latest reading it describes; resolved: the reading that resolved it. Epoch ms. */
  ts: number;
  score: number;
  healthScore: number;
  rulCycles?: number;
  /** The largest contributions to the score (at most three), in score units. */
  contributions: Record<string, number>;
  modelVersion: string;
  fallback: boolean;
}

/** The queue's key: one pending delivery per machine and severity. */
export function alertKey(machineId: string, severity: AlertSeverity): string {
  return `${severity}\n${machineId}`;
}

function details(
  e: AlertEvent | AlertRefresh,
): Omit<MachineAlert, 'machineId' | 'severity' | 'firing' | 'since'> {
  return {
    ts: e.ts,
    score: e.score,
    healthScore: e.healthScore,
    ...(e.rulCycles !== undefined ? { rulCycles: e.rulCycles } : {}),
    contributions: e.contributions,
    modelVersion: e.modelVersion,
    fallback: e.fallback,
  };
}

/**
 * What a transition means to Alertmanager: the alert of the severity it leaves is resolved, the one
 * of the severity it enters fires. ok is no alert at all.
 */
export function deliveriesOf(t: AlertEvent): MachineAlert[] {
  const out: MachineAlert[] = [];
  const d = details(t);
  if (t.from !== 'ok')
    out.push({
      machineId: t.machineId,
      severity: t.from,
      firing: false,
      since: t.previousSince ?? t.ts,
      ...d,
    });
  if (t.to !== 'ok') out.push({ machineId: t.machineId, severity: t.to, firing: true, since: t.ts, ...d });
  return out;
}

/** A still-active alert seen again (a refresh, or a machine taken over from another replica). */
export function firingOf(r: AlertRefresh): MachineAlert {
  return { machineId: r.machineId, severity: r.severity, firing: true, since: r.since, ...details(r) };
}
