// What /readyz and grpc.health.v1 report.
import type { Readiness } from './httpServer.ts';
import type { ServingState } from './pipeline.ts';

/** Readiness from the NATS connection and what serves: fallback rules keep a replica ready, but Degraded. */
export function readinessOf(natsConnected: boolean, serving: ServingState, fallbackRules: number): Readiness {
  if (!natsConnected) return { ready: false, reason: 'NATS disconnected' };
  if (serving.modelServing) return { ready: true, reason: `model ${serving.version} serving` };
  const why = serving.lastError
    ? `${serving.lastError.reason}: ${serving.lastError.message}`
    : 'no model loaded';
  if (fallbackRules === 0) return { ready: false, reason: `${why}; no fallback rules declared` };
  return { ready: true, reason: 'fallback rules serving', degraded: `${why}; fallback rules score readings` };
}
