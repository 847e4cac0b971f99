// What /healthz reports: whether the pipeline worker still makes progress. A stuck worker holds
// every reading it was given, unacknowledged, while NATS and the model look fine, so only a restart
// helps; NATS and the model stay readiness's concern (readiness.ts).
import type { Liveness } from './httpServer.ts';

/** What the host sees of its worker, in performance.now() milliseconds. */
export interface WorkerProgress {
  /** When the worker's thread last reported (a heartbeat or any reply). */
  lastHeartbeatAt: number;
  /** When the oldest batch still with the worker was handed over; undefined when none is. */
  oldestBatchAt: number | undefined;
}

export interface LivenessLimits {
  heartbeatTimeoutMs: number;
  maxBatchAgeMs: number;
}

/** Live unless the worker's thread went quiet or a batch has been with it too long; undefined progress = still starting. */
export function livenessOf(
  progress: WorkerProgress | undefined,
  now: number,
  limits: LivenessLimits,
): Liveness {
  if (!progress) return { live: true, reason: 'starting' };
  const quietMs = now - progress.lastHeartbeatAt;
  if (quietMs > limits.heartbeatTimeoutMs)
    return {
      live: false,
      reason: `pipeline worker silent for ${Math.round(quietMs)} ms (limit ${limits.heartbeatTimeoutMs} ms)`,
    };
  if (progress.oldestBatchAt !== undefined) {
    const ageMs = now - progress.oldestBatchAt;
    if (ageMs > limits.maxBatchAgeMs)
      return {
        live: false,
        reason: `oldest unacknowledged batch is ${Math.round(ageMs)} ms old (limit ${limits.maxBatchAgeMs} ms)`,
      };
  }
  return { live: true, reason: 'pipeline worker making progress' };
}
