import type { V1Probe } from '@kubernetes/client-node';

export type ProbeKind = 'readiness' | 'liveness' | 'startup';
export type ProbeResult = 'unknown' | 'success' | 'failure';

/** The kubelet's per-probe bookkeeping: the settled result and the run of identical outcomes behind it. */
export interface ProbeTracker {
  result: ProbeResult;
  last: boolean | undefined;
  run: number;
}

/** A probe's timing and thresholds with the Kubernetes defaults filled in. */
export interface ProbeTiming {
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  successThreshold: number;
  failureThreshold: number;
}

export function probeTiming(probe: V1Probe): ProbeTiming {
  return {
    initialDelayMs: (probe.initialDelaySeconds ?? 0) * 1000,
    periodMs: (probe.periodSeconds || 10) * 1000,
    timeoutMs: (probe.timeoutSeconds || 1) * 1000,
    successThreshold: probe.successThreshold || 1,
    failureThreshold: probe.failureThreshold || 3,
  };
}

/** Readiness starts failed (not ready until proven); liveness and startup start unknown. */
export function initialTracker(kind: ProbeKind): ProbeTracker {
  return { result: kind === 'readiness' ? 'failure' : 'unknown', last: undefined, run: 0 };
}

/**
 * Folds one probe outcome into the tracker: the result flips only after `successThreshold`
 * consecutive successes or `failureThreshold` consecutive failures, as in the kubelet's prober.
 */
export function observeProbe(t: ProbeTracker, ok: boolean, timing: ProbeTiming): ProbeTracker {
  const run = t.last === ok ? t.run + 1 : 1;
  const threshold = ok ? timing.successThreshold : timing.failureThreshold;
  const result: ProbeResult = run >= threshold ? (ok ? 'success' : 'failure') : t.result;
  return { result, last: ok, run };
}
