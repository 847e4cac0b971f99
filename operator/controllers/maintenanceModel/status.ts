import type { MaintenanceModel, MaintenanceModelStatus, ModelPhase } from '../../api/maintenanceModel.ts';
import { rfc3339, setCondition, type ConditionInput } from '../../framework/conditions.ts';
import type { Refusal } from './inputsCheck.ts';
import type { ServedArtifact } from './runtimeConfig.ts';

/** What the Deployment reports about its rollout. */
export interface DeploymentState {
  /** Whether the Deployment controller has seen the latest template (status.observedGeneration). */
  observed: boolean;
  /** Desired replicas (spec). */
  replicas: number;
  /** Pods of any template that exist (status.replicas): above `replicas` while old pods linger. */
  totalReplicas: number;
  updatedReplicas: number;
  readyReplicas: number;
  availableReplicas: number;
}

export interface ModelStatusInputs {
  model: MaintenanceModel;
  /** Why the fleet cannot be used (missing, or its features do not provide the inputs); undefined = bound. */
  fleetRefusal: Refusal | undefined;
  /** Why spec.model cannot be served; undefined = verified. `pending` when it could not be checked yet. */
  artifactRefusal: Refusal | undefined;
  /** What the children were applied with this reconcile: spec.model, or the last verified one; none = no model serves. */
  served: ServedArtifact | undefined;
  /** No version was ever verified, so the children were applied without an artifact: spec.fallback's rules score. */
  fallbackOnly: boolean;
  deployment: DeploymentState | undefined;
  endpoint: string;
  now: Date;
}

function fleetBound(refusal: Refusal | undefined, gen: number | undefined, name: string): ConditionInput {
  return refusal
    ? {
        type: 'FleetBound',
        status: 'False',
        reason: refusal.reason,
        message: refusal.message,
        observedGeneration: gen,
      }
    : {
        type: 'FleetBound',
        status: 'True',
        reason: 'FleetFound',
        message: `bound to SensorFleet ${name}`,
        observedGeneration: gen,
      };
}

function artifactVerified(
  model: MaintenanceModel,
  refusal: Refusal | undefined,
  gen: number | undefined,
): ConditionInput {
  const { version, sha256 } = model.spec.model;
  return refusal
    ? {
        type: 'ArtifactVerified',
        status: refusal.pending ? 'Unknown' : 'False',
        reason: refusal.reason,
        message: refusal.message,
        observedGeneration: gen,
      }
    : {
        type: 'ArtifactVerified',
        status: 'True',
        reason: 'DigestAndInputsVerified',
        message: `${version} (sha256 ${sha256.slice(0, 12)}…) matches its digest and inputs`,
        observedGeneration: gen,
      };
}

function available(
  { served, fallbackOnly }: ModelStatusInputs,
  d: DeploymentState | undefined,
  gen: number | undefined,
): ConditionInput {
  if (!served && !fallbackOnly) {
    return {
      type: 'Available',
      status: 'False',
      reason: 'NoVerifiedModel',
      message: 'no verified artifact to serve yet',
      observedGeneration: gen,
    };
  }
  if (!d || d.availableReplicas < 1) {
    return {
      type: 'Available',
      status: 'False',
      reason: 'NoReadyReplicas',
      message: `no runtime pod ${served ? `of ${served.version}` : 'with the fallback rules'} is ready yet`,
      observedGeneration: gen,
    };
  }
  return {
    type: 'Available',
    status: 'True',
    reason: 'MinimumReplicasAvailable',
    message: `${d.availableReplicas} runtime pod(s) serving${served ? '' : ' fallback rules only'}`,
    observedGeneration: gen,
  };
}

/**
 * Whether the Deployment runs exactly the current template on every replica, all ready and no old pod
 * left (as `kubectl rollout status` decides): during a surge the old pod's readiness must not count.
 */
export function rolledOut(d: DeploymentState | undefined): boolean {
  return (
    !!d &&
    d.observed &&
    d.replicas > 0 &&
    d.updatedReplicas === d.replicas &&
    d.totalReplicas === d.replicas &&
    d.readyReplicas === d.replicas
  );
}

function ready(inputs: ModelStatusInputs, others: ConditionInput[], gen: number | undefined): ConditionInput {
  if (inputs.fallbackOnly) {
    // Not the first failing reason alone: that says why no model serves, not that rules still score.
    const cause = others.find((c) => c.type !== 'Available' && c.status !== 'True');
    const scoring = others.find((c) => c.type === 'Available')?.status === 'True';
    const rules = inputs.model.spec.fallback?.rules.length ?? 0;
    return {
      type: 'Ready',
      status: 'False',
      reason: 'FallbackOnly',
      message:
        `no verified model${cause ? ` (${cause.reason})` : ''}; ` +
        (scoring
          ? `${rules} fallback rule(s) score readings`
          : 'fallback rules will score readings once a runtime pod is ready'),
      observedGeneration: gen,
    };
  }
  const notTrue = others.find((c) => c.status !== 'True');
  if (notTrue) {
    return {
      type: 'Ready',
      status: 'False',
      reason: notTrue.reason,
      message: notTrue.message,
      observedGeneration: gen,
    };
  }
  if (!rolledOut(inputs.deployment)) {
    const d = inputs.deployment;
    return {
      type: 'Ready',
      status: 'False',
      reason: 'RolloutInProgress',
      message: d
        ? `${d.updatedReplicas}/${d.replicas} replicas updated, ${d.readyReplicas} ready`
        : 'Deployment not observed yet',
      observedGeneration: gen,
    };
  }
  return {
    type: 'Ready',
    status: 'True',
    reason: 'Serving',
    message: `${inputs.served!.version} serves on every replica`,
    observedGeneration: gen,
  };
}

/**
 * The model's status from this reconcile's inputs. `stable` moves to the served version only once it is
 * rolled out on every replica, so it always names something that was verified and really served.
 */
export function modelStatus(inputs: ModelStatusInputs): MaintenanceModelStatus {
  const { model, now, served, deployment } = inputs;
  const gen = model.metadata.generation;
  const previous = model.status ?? {};
  const bound = fleetBound(inputs.fleetRefusal, gen, model.spec.fleetRef.name);
  const verified = artifactVerified(model, inputs.artifactRefusal, gen);
  const avail = available(inputs, deployment, gen);
  const readyCond = ready(inputs, [bound, verified, avail], gen);
  let conditions = previous.conditions;
  for (const c of [bound, verified, avail, readyCond]) conditions = setCondition(conditions, c, now);

  const status: MaintenanceModelStatus = { observedGeneration: gen, conditions: conditions ?? [] };
  let stable = previous.stable;
  if (
    served &&
    rolledOut(deployment) &&
    (stable?.version !== served.version || stable.sha256 !== served.sha256)
  ) {
    stable = { version: served.version, sha256: served.sha256, since: rfc3339(now) };
  }
  if (stable) status.stable = stable;
  status.readyReplicas = deployment?.readyReplicas ?? 0;
  if (served || inputs.fallbackOnly) status.endpoint = inputs.endpoint;
  status.phase = phase(inputs);
  if (previous.history) status.history = previous.history;
  return status;
}

/**
 * Degraded: nothing verified serves (fallback rules may score). Progressing: pods of the served
 * version are still rolling out.
 */
function phase(inputs: ModelStatusInputs): ModelPhase {
  if (!inputs.served) return 'Degraded';
  return rolledOut(inputs.deployment) ? 'Stable' : 'Progressing';
}
