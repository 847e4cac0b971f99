// The Alertmanager API v2 body (POST /api/v2/alerts: an array of postableAlert) for machine alerts.
// Times are computed when a batch is sent, not when it was queued: a firing alert that waited out an
// Alertmanager outage still goes out with endsAt in the future.
import type { MachineAlert } from './machineAlert.ts';

export const ALERT_NAME = 'PrognosMachineSeverity';

export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
}

export interface PayloadContext {
  namespace: string;
  model: string;
  /** endsAt of a firing alert = send time + this. */
  endsAfterMs: number;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** `vibration=+0.310, temperature=-0.020`, largest first by magnitude. */
export function formatContributions(contributions: Record<string, number>): string {
  return Object.entries(contributions)
    .sort(([, a], [, b]) => Math.abs(b) - Math.abs(a))
    .map(([name, v]) => `${name}=${v >= 0 ? '+' : ''}${v.toFixed(3)}`)
    .join(', ');
}

export function postableAlert(a: MachineAlert, ctx: PayloadContext, now: number): PostableAlert {
  const annotations: Record<string, string> = {
    summary: `Machine ${a.machineId} is ${a.severity} (${ctx.namespace}/${ctx.model})`,
    health_score: String(a.healthScore),
    score: String(a.score),
    model_version: a.modelVersion,
  };
  if (a.rulCycles !== undefined) annotations['rul_cycles'] = String(a.rulCycles);
  const top = formatContributions(a.contributions);
  if (top) annotations['top_contributions'] = top;
  if (a.fallback) annotations['fallback'] = 'true';
  return {
    labels: {
      alertname: ALERT_NAME,
      namespace: ctx.namespace,
      model: ctx.model,
      machine: a.machineId,
      severity: a.severity,
    },
    annotations,
    // Reading times may run ahead of this clock (up to schema.maxFutureSkewMs): a start in the future
    // would make a resolution end before it starts, which Alertmanager rejects.
    startsAt: iso(Math.min(a.since, now)),
    // A resolution ends now: an endsAt in the future would keep it firing until then.
    endsAt: iso(a.firing ? now + ctx.endsAfterMs : now),
  };
}
