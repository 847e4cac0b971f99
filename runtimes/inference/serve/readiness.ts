// What /readyz and grpc.health.v1 report.
import type { Readiness } from './httpServer.ts';
import type { ServingState } from '../pipeline/pipeline.ts';

/** Readiness from the NATS connection and what serves: fallback rules keep a replica ready, but Degraded. */
export function readinessOf(natsConnected: boolean, serving: ServingState, fallbackRules: number): Readiness {
  if (!natsConnected) return { ready: false, reason: 'NATS disconnected' };
  if (serving.modelServing) return { ready: true, reason: `model ${serving.version} serving` };
  // Once the pipeline exists a configured artifact has either loaded or failed (lastError), so no
  // error means the config named no artifact: the operator had no verified model to give.
  const why = serving.lastError
    ? `${serving.lastError.reason}: ${serving.lastError.message}`
    : 'no verified model';
  if (fallbackRules === 0) return { ready: false, reason: `${why}; no fallback rules declared` };
  return { ready: true, reason: 'fallback rules serving', degraded: `${why}; fallback rules score readings` };
}
