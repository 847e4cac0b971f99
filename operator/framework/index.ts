// The controller runtime's public API. Controllers import from here, not from the files.
export { apply, applyStatus, FIELD_MANAGER } from './apply.ts';
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
export { generationChanged, labelsOrAnnotationsChanged, or, type Predicate } from './predicates.ts';
export { desiredStatus, updateStatus } from './status.ts';
