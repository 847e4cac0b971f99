import type { V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';
import { API_VERSION } from '../../api/meta.ts';
import { MAINTENANCE_MODEL_KIND, type MaintenanceModel } from '../../api/maintenanceModel.ts';

export const FIELD_MANAGER = 'prognos-operator';

/** The controller owner reference: the garbage collector removes children with their model. */
export function ownerReference(model: MaintenanceModel): V1OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: MAINTENANCE_MODEL_KIND,
    name: model.metadata.name!,
    uid: model.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** The roles that have runtime children: the stable, and the new version under a canary or shadow rollout. */
export type ChildRole = 'stable' | 'canary' | 'shadow';

/** Labels selecting a role's runtime pods of a model; they never change, as a selector must not. */
export function selectorLabels(model: MaintenanceModel, role: ChildRole = 'stable'): Record<string, string> {
  return { 'prognos.dev/model': model.metadata.name!, 'prognos.dev/role': role };
}

/** The name of a role's child: the model's own name for the stable, `<model>-<role>` for the others. */
export function roleChildName(model: MaintenanceModel, role: ChildRole): string {
  return role === 'stable' ? model.metadata.name! : `${model.metadata.name}-${role}`;
}

export function commonLabels(model: MaintenanceModel, role: ChildRole = 'stable'): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'prognos-inference',
    'app.kubernetes.io/instance': model.metadata.name!,
    'app.kubernetes.io/component': 'inference',
    'app.kubernetes.io/managed-by': FIELD_MANAGER,
    ...selectorLabels(model, role),
  };
}

/** Metadata of a child named `name`, in the model's namespace, owned by the model. */
export function childMeta(model: MaintenanceModel, name: string, role: ChildRole = 'stable'): V1ObjectMeta {
  return {
    name,
    namespace: model.metadata.namespace!,
    labels: commonLabels(model, role),
    ownerReferences: [ownerReference(model)],
  };
}
