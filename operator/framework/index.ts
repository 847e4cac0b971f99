/**
 * The controller runtime's public API. Controllers import from here, not from the files.
 *
 * ```ts
 * const MM = { apiVersion: 'prognos.dev/v1alpha1', kind: 'MaintenanceModel' };
 * const models = new Controller<MaintenanceModel>('maintenancemodel', {
 *   concurrency: 4,
 *   reconcile: async ({ object, client, events, signal }) => {
 *     if (!object) return; // deleted; owned objects go with it (garbage collector)
 *     const live = await reconcileFinalizer(client, object, 'prognos.dev/kv-cleanup', deleteKvKey);
 *     if (live.deleting) return;
 *     await apply(client, deploymentFor(object)); // with controllerReference(object) in ownerReferences
 *     const conditions = setCondition(object.status?.conditions, { type: 'Ready', ... }, new Date());
 *     await updateStatus(client, object, { ...statusFor(object), conditions }); // writes only on change
 *     return { requeueAfterMs: 30_000 }; // poll external state
 *   },
 * })
 *   .for({ ...MM, predicate: generationChanged })
 *   .owns({ apiVersion: 'apps/v1', kind: 'Deployment' })
 *   .watches({ apiVersion: 'prognos.dev/v1alpha1', kind: 'SensorFleet' }, (fleet) => modelKeysOf(fleet));
 *
 * class PrognosOperator extends Operator {
 *   constructor(kubeConfig: KubeConfig) {
 *     super({ kubeConfig, leaderElection: { namespace: 'prognos-system', name: 'prognos-operator' },
 *             health: { port: 8081 } });
 *     this.register(models);
 *   }
 * }
 * await new PrognosOperator(kc).start(); // SIGTERM → graceful stop, Lease released
 * ```
 */
export { apply, applyIfNeeded, applyStatus, FIELD_MANAGER } from './apply.ts';
export { INTENT_HASH_ANNOTATION, intentHash, needsApply, withIntentHash } from './needsApply.ts';
export { pruneIfOwned } from './prune.ts';
export {
  getCondition,
  isConditionTrue,
  rfc3339,
  semanticEqual,
  setCondition,
  statusChanged,
  type Condition,
  type ConditionInput,
  type ConditionStatus,
} from './conditions.ts';
export {
  Controller,
  type ControllerOptions,
  type PrimarySpec,
  type ReconcileContext,
  type Reconciler,
  type Request,
  type Result,
  type WatchSpec,
} from './controller.ts';
export { EventRecorder, type EventInput } from './events.ts';
export {
  addFinalizer,
  hasFinalizer,
  reconcileFinalizer,
  removeFinalizer,
  type FinalizerOutcome,
} from './finalizers.ts';
export { keyOf, objectKey, splitKey, type GroupVersionKind } from './gvk.ts';
export { ApiError, isConflict, isGone, isNotFound, KubeClient, refOf, type ObjectRef } from './kubeClient.ts';
export type { LeaderElectionOptions } from './leaderElection.ts';
export { Operator, type OperatorOptions } from './operator.ts';
export { controllerOwnerKey, controllerReference } from './ownerMapping.ts';
export {
  fieldsChanged,
  generationChanged,
  labelsOrAnnotationsChanged,
  ownedMetadataChanged,
  or,
  type Predicate,
} from './predicates.ts';
export { ReferenceUnreadableError } from './references.ts';
export { desiredStatus, StatusWrites, updateStatus } from './status.ts';
