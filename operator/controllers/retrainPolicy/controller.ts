import type { KubernetesObject, V1Job } from '@kubernetes/client-node';
import type { MaintenanceModel } from '../../api/maintenanceModel.ts';
import type { RetrainPolicy } from '../../api/retrainPolicy.ts';
import type { SensorFleet } from '../../api/sensorFleet.ts';
import { Controller } from '../../framework/controller.ts';
import { objectKey } from '../../framework/gvk.ts';
import { watchSpecs } from '../kinds.ts';
import type { RetrainPolicyReconciler } from './reconciler.ts';

/**
 * RetrainPolicy → its training Jobs (owned: a Job's status wakes the policy) and candidates. Its
 * model's status (what serves, what was rolled back) and its fleet wake the policy: which model and
 * fleet a policy reads is remembered from its last reconcile (every policy is reconciled at start).
 */
export function retrainPolicyController(
  reconciler: RetrainPolicyReconciler,
  namespace: string | undefined,
): Controller<RetrainPolicy> {
  const kinds = watchSpecs(namespace);
  const reads = new Map<string, { model: string; fleet: string | undefined }>();
  const readers = (kind: 'model' | 'fleet', obj: KubernetesObject) => {
    const key = objectKey(obj.metadata?.namespace, obj.metadata?.name ?? '');
    return [...reads].filter(([, r]) => r[kind] === key).map(([policy]) => policy);
  };
  return new Controller<RetrainPolicy>('retrainpolicy', {
    reconcile: (ctx) => {
      const policy = ctx.object;
      if (policy) {
        const ns = policy.metadata.namespace;
        const model = ctx.cached<MaintenanceModel>(
          kinds.maintenanceModel,
          objectKey(ns, policy.spec.modelRef.name),
        );
        reads.set(ctx.request.key, {
          model: objectKey(ns, policy.spec.modelRef.name),
          fleet: model ? objectKey(ns, model.spec.fleetRef.name) : undefined,
        });
      } else reads.delete(ctx.request.key);
      return reconciler.reconcile(
        ctx.request.key,
        policy,
        {
          model: (ns, name) => ctx.cached<MaintenanceModel>(kinds.maintenanceModel, objectKey(ns, name)),
          fleet: (ns, name) => ctx.cached<SensorFleet>(kinds.sensorFleet, objectKey(ns, name)),
          jobs: (ns, uid) =>
            ctx
              .cachedList<V1Job>(kinds.job)
              .filter(
                (j) =>
                  j.metadata?.namespace === ns &&
                  j.metadata.ownerReferences?.some((o) => o.controller && o.uid === uid),
              ),
        },
        ctx,
      );
    },
  })
    .for(kinds.retrainPolicy)
    .owns(kinds.job)
    .watches(kinds.maintenanceModel, (model) => readers('model', model))
    .watches(kinds.sensorFleet, (fleet) => readers('fleet', fleet));
}
