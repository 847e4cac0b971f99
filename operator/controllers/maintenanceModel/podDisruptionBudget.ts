import type { V1PodDisruptionBudget } from '@kubernetes/client-node';
import type { MaintenanceModel } from '../../api/maintenanceModel.ts';
import { childMeta, selectorLabels } from './objectMeta.ts';

/**
 * Voluntary disruptions (node drains) take at most one runtime pod at a time, so some replica keeps
 * consuming. With a single replica no budget can help: `maxUnavailable: 1` allows the eviction anyway,
 * and `minAvailable: 1` would block every drain. That budget would only cost the control plane (the
 * disruption controller rewrites its status on every pod change: ~24 ms of API server, etcd and
 * controller-manager CPU per model, docs/adr/0005-operator-control-plane-footprint.md), so a
 * single-replica model gets none and the gap JetStream absorbs is the whole story.
 */
export function desiredPodDisruptionBudget(model: MaintenanceModel): V1PodDisruptionBudget | undefined {
  if (model.spec.serving.replicas < 2) return undefined;
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: childMeta(model, model.metadata.name!),
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(model) } },
  };
}
