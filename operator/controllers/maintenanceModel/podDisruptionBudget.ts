import type { V1PodDisruptionBudget } from '@kubernetes/client-node';
import type { MaintenanceModel } from '../../api/maintenanceModel.ts';
import { childMeta, selectorLabels } from './objectMeta.ts';

/**
 * Voluntary disruptions (node drains) take at most one runtime pod at a time. With one replica that
 * still allows the drain: blocking it forever would be worse than the brief gap JetStream absorbs.
 */
export function desiredPodDisruptionBudget(model: MaintenanceModel): V1PodDisruptionBudget {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: childMeta(model, model.metadata.name!),
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(model) } },
  };
}
