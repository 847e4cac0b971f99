// The MaintenanceModel's Drifting condition: what the RetrainPolicy watching the model's inputs last
// judged, so `kubectl get mm` and Argo CD show drift where the model is. The policy computes it (its
// drift trigger carries the method, window and thresholds); the model mirrors it. Pure.
import type { MaintenanceModel } from '../../api/maintenanceModel.ts';
import type { RetrainPolicy } from '../../api/retrainPolicy.ts';
import { getCondition, type ConditionInput } from '../../framework/conditions.ts';

export const DRIFTING = 'Drifting';

/** The first (by name) live policy with a drift trigger on this model; undefined: nobody watches drift. */
export function driftWatcher(
  model: MaintenanceModel,
  policies: readonly RetrainPolicy[],
): RetrainPolicy | undefined {
  return policies
    .filter(
      (p) =>
        p.metadata.namespace === model.metadata.namespace &&
        p.spec.modelRef.name === model.metadata.name &&
        p.spec.triggers.drift !== undefined &&
        !p.metadata.deletionTimestamp,
    )
    .sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!))[0];
}

/** The model's Drifting condition; undefined removes it (no policy watches drift). */
export function modelDriftCondition(
  model: MaintenanceModel,
  policies: readonly RetrainPolicy[],
): ConditionInput | undefined {
  const policy = driftWatcher(model, policies);
  if (!policy) return undefined;
  const gen = model.metadata.generation;
  const judged = getCondition(policy.status?.conditions, DRIFTING);
  if (!judged)
    return {
      type: DRIFTING,
      status: 'False',
      reason: 'DriftNotJudged',
      message: `RetrainPolicy ${policy.metadata.name} has not judged drift yet`,
      observedGeneration: gen,
    };
  return {
    type: DRIFTING,
    status: judged.status,
    reason: judged.reason,
    message: `RetrainPolicy ${policy.metadata.name}: ${judged.message}`,
    observedGeneration: gen,
  };
}
