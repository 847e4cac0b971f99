import type {
  KubernetesObject,
  V1ConfigMap,
  V1Deployment,
  V1PodDisruptionBudget,
  V1Service,
  V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { parse as parseYaml } from 'yaml';
import type { MaintenanceModel, MaintenanceModelStatus } from '../../api/maintenanceModel.ts';
import type { SecretKeySelector } from '../../api/meta.ts';
import type { SensorFleet } from '../../api/sensorFleet.ts';
import { apply, applyIfNeeded } from '../../framework/apply.ts';
import { getCondition, rfc3339, setCondition, type ConditionInput } from '../../framework/conditions.ts';
import type { ReconcileIo } from '../../framework/controller.ts';
import { isFenced } from '../../framework/fence.ts';
import { objectKey } from '../../framework/gvk.ts';
import { reconcileFinalizer } from '../../framework/finalizers.ts';
import { isNotFound } from '../../framework/kubeClient.ts';
import { pruneIfOwned } from '../../framework/prune.ts';
import { StatusWrites, updateStatus } from '../../framework/status.ts';
import { resolveNatsTarget, type ReadSecret } from '../../nats/credentials.ts';
import type { NatsPool, NatsTarget } from '../../nats/pool.ts';
import { ConfigError, IN_FLIGHT_BATCHES } from '../../../contracts/runtimeConfig.ts';
import { RETRIED, type ArtifactVerifier } from './artifactVerifier.ts';
import type { ModelFleetIndex } from './modelFleetIndex.ts';
import { configHash, configMapName, desiredConfigMap, renderRuntimeConfig } from './configMap.ts';
import { CONFIG_HASH_ANNOTATION, desiredDeployment } from './deployment.ts';
import { checkFleetInputs, type Refusal } from './inputsCheck.ts';
import { desiredPodDisruptionBudget } from './podDisruptionBudget.ts';
import { CONFIG_FILE, desiredRuntimeConfig, FALLBACK_VERSION, type ServedArtifact } from './runtimeConfig.ts';
import { desiredCanaryService, desiredService, grpcEndpoint } from './service.ts';
import {
  ALERTING_CONDITION,
  alertingCondition,
  resolveAlerting,
  type AlertingResolution,
  type AlertmanagerCredentials,
} from './alerting.ts';
import { desiredServiceMonitor, servesServiceMonitors } from './serviceMonitor.ts';
import { desiredSplit, purgeSplit, splitKey, writeSplit } from './traffic/split.ts';
import {
  desiredGrpcRoute,
  GRPC_ROUTE,
  GRPC_ROUTE_ANNOTATION,
  GRPC_ROUTE_CONDITION,
  grpcRouteAnnotation,
  grpcRouteCondition,
  routedCanaryWeight,
  servesGrpcRoutes,
  type GrpcRouteOutcome,
} from './traffic/grpcRoute.ts';
import {
  AUTOSCALER_ANNOTATION,
  autoscalerAnnotation,
  desiredAutoscaler,
  SCALED_OBJECT,
  servesScaledObjects,
} from './autoscaler.ts';
import { deleteModelConsumers, desiredConsumers, ensureConsumers } from './consumers.ts';
import { streamName } from '../sensorFleet/desiredStreams.ts';
import { modelStatus, rolledOut, type DeploymentState } from './status.ts';
import { DRIFTING, modelDriftCondition } from './driftCondition.ts';
import { roleChildName } from './objectMeta.ts';
import {
  CANDIDATE_ROLES,
  HISTORY_LIMIT,
  planRollout,
  type CandidateRole,
  type RolloutPlan,
} from './rollout/plan.ts';
import type { Role } from '../../../contracts/split.ts';
import type { RetrainPolicy } from '../../api/retrainPolicy.ts';
import { retrainCandidate, specSuperseded } from './rollout/retrainCandidate.ts';
import { RolloutTelemetryBook } from './rollout/telemetryBook.ts';
import type { DriftDetector } from '../retrainPolicy/drift/detector.ts';

export const MODEL_FINALIZER = 'prognos.dev/rollout-split';

/** Reasons that are worth retrying soon on their own: the world may fix itself (network, upload). */
const TRANSIENT = new Set([...RETRIED, 'NatsUnreachable']);
const TRANSIENT_RETRY_MS = 15_000;
const QUEUED_RETRY_MS = 1_000;
const DISCOVERY_RETRY_MS = 1_000;

/** Cached reads (shared informers and watched Secrets): a reconcile reads the cache, never the API server. */
export interface ModelLookups {
  fleet(namespace: string, name: string): SensorFleet | undefined;
  configMap(namespace: string, name: string): V1ConfigMap | undefined;
  deployment(namespace: string, name: string): V1Deployment | undefined;
  service(namespace: string, name: string): V1Service | undefined;
  podDisruptionBudget(namespace: string, name: string): V1PodDisruptionBudget | undefined;
  /** The servicemonitors.monitoring.coreos.com CRD, if the cluster has it. */
  serviceMonitorCrd(): KubernetesObject | undefined;
  horizontalPodAutoscaler(namespace: string, name: string): V2HorizontalPodAutoscaler | undefined;
  /** The scaledobjects.keda.sh CRD, if the cluster has it (and the operator watches it). */
  scaledObjectCrd(): KubernetesObject | undefined;
  /** The grpcroutes.gateway.networking.k8s.io CRD, if the cluster has it (and the operator watches it). */
  grpcRouteCrd(): KubernetesObject | undefined;
  /** Whether the operator may make GRPCRoutes at all (--gateway-api). */
  gatewayApi: boolean;
  /** A Secret the model's fleet names, from the watch of that Secret (ReconcileContext.readReferenced). */
  secret: ReadSecret;
  /** The namespace's RetrainPolicies: a passed candidate of one with promotion Auto is rolled out. */
  policies(namespace: string): RetrainPolicy[];
}

export interface ModelReconcilerDeps {
  /** Told which fleet each model scores, so fleet changes and telemetry find their models. */
  index: ModelFleetIndex;
  pool: NatsPool;
  verifier: ArtifactVerifier;
  image: string;
  /** Largest artifact the runtimes read (the operator's --max-artifact-bytes, passed on in their config). */
  maxArtifactBytes?: number;
  /** The runtimes' telemetry windows, for rollout analysis (fed by the telemetry subscription). */
  telemetry?: RolloutTelemetryBook;
  /** Told each verified version's training baseline, for drift detection. */
  drift?: DriftDetector;
  log: Logger;
  now?: () => Date;
}

export interface ReconcileResult {
  requeueAfterMs?: number;
}

/** Everything one reconcile of one model learned before it writes anything. */
interface ModelContext {
  io: ReconcileIo;
  model: MaintenanceModel;
  fleet: SensorFleet | undefined;
  target: NatsTarget | undefined;
  nats: () => Promise<NatsConnection>;
  fleetRefusal: Refusal | undefined;
  artifactRefusal: Refusal | undefined;
  /** Verified spec.model, when it may serve. */
  specArtifact: ServedArtifact | undefined;
  /** What the current ConfigMap serves, when it is trustworthy (verified before). */
  lastServed: ServedArtifact | undefined;
  /** Verified rollout.candidate, when set and it may serve. */
  candidateArtifact: ServedArtifact | undefined;
  /** Why rollout.candidate cannot be evaluated; `pending` while its check waits. */
  candidateRefusal: Refusal | undefined;
  /** A RetrainPolicy's passed candidate (promotion Auto), verified, when one awaits and may serve. */
  retrain: { policy: string; artifact: ServedArtifact } | undefined;
  /** Why that candidate cannot be rolled out; `pending` while its check waits. */
  retrainRefusal: Refusal | undefined;
  /** spec.alerting's credentials (its Secret read through the watch), or why it cannot be used. */
  alerting: AlertingResolution;
}

/** What a rollout decided this reconcile, and the artifacts it decided about. */
interface RolloutStep {
  plan: RolloutPlan;
  target: ServedArtifact | undefined;
  /** The stable's artifact the plan keeps serving (or the target, when promoting). */
  served: ServedArtifact;
}

/** The artifact in the runtime ConfigMap the operator last applied, read back to keep serving it. */
export function servedFromConfigMap(cm: V1ConfigMap | undefined): ServedArtifact | undefined {
  const text = cm?.data?.[CONFIG_FILE];
  if (!text) return undefined;
  try {
    const doc = parseYaml(text) as { version?: unknown; artifact?: Partial<ServedArtifact> };
    const a = doc.artifact;
    if (
      typeof doc.version !== 'string' ||
      !a ||
      typeof a.uri !== 'string' ||
      typeof a.sha256 !== 'string' ||
      !Array.isArray(a.inputs)
    ) {
      return undefined;
    }
    return {
      version: doc.version,
      uri: a.uri,
      sha256: a.sha256,
      inputs: a.inputs,
      ...(a.output ? { output: a.output } : {}),
    };
  } catch {
    return undefined;
  }
}

function deploymentState(
  d: V1Deployment | undefined,
  wantHash: string | undefined,
): DeploymentState | undefined {
  if (!d) return undefined;
  const s = d.status ?? {};
  const templateCurrent =
    wantHash === undefined || d.spec?.template.metadata?.annotations?.[CONFIG_HASH_ANNOTATION] === wantHash;
  return {
    observed: templateCurrent && (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0),
    replicas: d.spec?.replicas ?? 0,
    totalReplicas: s.replicas ?? 0,
    updatedReplicas: s.updatedReplicas ?? 0,
    readyReplicas: s.readyReplicas ?? 0,
    availableReplicas: s.availableReplicas ?? 0,
  };
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Reconciles one MaintenanceModel: resolve the fleet, verify spec.model, apply the children for the
 * newest artifact that may serve, write the split, then the status (once, only when it changed).
 */
export class MaintenanceModelReconciler {
  readonly #deps: ModelReconcilerDeps;
  readonly #telemetry: RolloutTelemetryBook;
  /** NATS target each model last wrote its split through, for the finalizer when the fleet is gone. */
  readonly #splitTargets = new Map<string, NatsTarget>();
  /**
   * Where each model's consumers were last reconciled, likewise, and what was ensured there: a
   * reconcile whose consumers did not change asks JetStream nothing (one info per partition and a
   * list of the stream's consumers otherwise). A consumer deleted by hand is therefore recreated when
   * the model or its fleet changes, or the operator restarts.
   */
  readonly #consumerStreams = new Map<string, { target: NatsTarget; stream: string; ensured: string }>();
  /** Status written but maybe not in the cache yet: transitions and writes compare with it. */
  readonly #statusWrites = new StatusWrites();
  /**
   * Control annotations acted on and cleared (key → value), per model, until the cache shows them
   * cleared: the next reconcile often reads the model before the clearing reaches the cache, and must
   * not act on them again (a second promote would skip a step).
   */
  readonly #cleared = new Map<string, Record<string, string>>();

  constructor(deps: ModelReconcilerDeps) {
    this.#deps = deps;
    this.#telemetry = deps.telemetry ?? new RolloutTelemetryBook();
  }

  async reconcile(
    key: string,
    cached: MaintenanceModel | undefined,
    lookups: ModelLookups,
    io: ReconcileIo,
  ): Promise<ReconcileResult> {
    if (!cached) {
      const [ns = '', name = ''] = key.split('/');
      this.#telemetry.forget(ns, name);
      this.#deps.drift?.forget(ns, name);
      this.#deps.index.remove(key);
      this.#statusWrites.forget(key);
      this.#cleared.delete(key);
      return {};
    }
    this.#deps.index.set(key, cached.spec.fleetRef.name);
    const outcome = await reconcileFinalizer(io.client, cached, MODEL_FINALIZER, (m) =>
      this.#cleanup(m, lookups, io),
    );
    if (outcome.deleting) return {};
    const model = this.#withoutCleared(key, this.#statusWrites.fresh(outcome.obj));
    const ctx = await this.#gather(model, lookups, io);
    return this.#act(ctx, lookups);
  }

  /** The model without the control annotations this process already acted on and cleared. */
  #withoutCleared(key: string, model: MaintenanceModel): MaintenanceModel {
    const cleared = this.#cleared.get(key);
    if (!cleared) return model;
    const live = model.metadata.annotations ?? {};
    const stale = (k: string) => cleared[k] !== undefined && live[k] === cleared[k];
    if (!Object.keys(live).some(stale)) {
      this.#cleared.delete(key);
      return model;
    }
    const annotations = Object.fromEntries(Object.entries(live).filter(([k]) => !stale(k)));
    return { ...model, metadata: { ...model.metadata, annotations } };
  }

  async #gather(model: MaintenanceModel, lookups: ModelLookups, io: ReconcileIo): Promise<ModelContext> {
    const ns = model.metadata.namespace!;
    const fleet = lookups.fleet(ns, model.spec.fleetRef.name);
    let target: NatsTarget | undefined;
    let fleetRefusal: Refusal | undefined;
    if (!fleet) {
      fleetRefusal = {
        reason: 'FleetNotFound',
        message: `SensorFleet ${ns}/${model.spec.fleetRef.name} does not exist`,
      };
    } else {
      fleetRefusal = checkFleetInputs(model.spec.model.inputs, fleet);
      try {
        target = await resolveNatsTarget(fleet.spec.nats, ns, lookups.secret);
      } catch (error) {
        fleetRefusal ??= { reason: 'NatsCredentialsInvalid', message: message(error) };
      }
    }
    const nats = () =>
      target
        ? this.#deps.pool.get(target)
        : Promise.reject(new Error('the fleet has no usable NATS connection'));

    const { uri, sha256, inputs, output, version, caSecretRef } = model.spec.model;
    const artifact: ServedArtifact = { version, uri, sha256, inputs, ...(output ? { output } : {}) };
    const ca = caSecretRef ? await readArtifactCa(ns, caSecretRef, lookups.secret) : undefined;
    let artifactRefusal: Refusal | undefined;
    if (ca && !ca.ok) artifactRefusal = ca.refusal;
    else {
      const verified = await this.#deps.verifier.verifyOrQueued(
        { ...artifact, task: model.spec.task, ...(ca ? { ca: ca.pem } : {}) },
        nats,
        io.signal,
      );
      artifactRefusal = verified.ok ? undefined : verified.refusal;
      if (verified.ok)
        this.#deps.drift?.setBaseline(ns, model.metadata.name!, version, verified.signature.baseline);
      // A sequence model's T is known once the file is read: the fleet must keep that many readings.
      const steps = verified.ok ? verified.signature.inputs[0]?.sequenceLength : undefined;
      if (fleet && steps !== undefined)
        fleetRefusal ??= checkFleetInputs(model.spec.model.inputs, fleet, steps);
    }
    const specArtifact = !artifactRefusal && !fleetRefusal ? artifact : undefined;
    const candidate =
      fleet && !fleetRefusal && model.spec.rollout?.candidate
        ? await this.#verifyCandidate(model, model.spec.rollout.candidate, fleet, nats, lookups, io)
        : {};
    // A retrained candidate is the model's own inputs and output on new weights: checked as spec.model is.
    const passed = model.spec.rollout ? retrainCandidate(model, lookups.policies(ns)) : undefined;
    const retrain =
      fleet && !fleetRefusal && passed
        ? await this.#verifyCandidate(model, { ...model.spec.model, ...passed }, fleet, nats, lookups, io)
        : {};

    const fromCm = servedFromConfigMap(lookups.configMap(ns, configMapName(model)));
    // Only what the operator verified may keep serving: the stable it recorded, or a version verified in this process.
    const lastServed =
      fromCm &&
      (fromCm.sha256 === model.status?.stable?.sha256 ||
        this.#deps.verifier.isVerified(fromCm.uri, fromCm.sha256))
        ? fromCm
        : undefined;
    // Drift is judged against the serving version's own training baseline. A version that serves from
    // before this process (an auto-promoted candidate whose policy is gone, after an operator restart)
    // is verified once more to learn it.
    if (
      lastServed &&
      fleet &&
      !fleetRefusal &&
      this.#deps.drift?.hasBaseline(ns, model.metadata.name!, lastServed.version) === false
    )
      await this.#verifyCandidate(
        model,
        { ...model.spec.model, version: lastServed.version, uri: lastServed.uri, sha256: lastServed.sha256 },
        fleet,
        nats,
        lookups,
        io,
      );
    return {
      io,
      model,
      fleet,
      target,
      nats,
      fleetRefusal,
      artifactRefusal,
      specArtifact,
      lastServed,
      candidateArtifact: candidate.artifact,
      candidateRefusal: candidate.refusal,
      retrain: passed && retrain.artifact ? { policy: passed.policy, artifact: retrain.artifact } : undefined,
      retrainRefusal: retrain.refusal,
      alerting: await resolveAlerting(model, lookups.secret),
    };
  }

  /** rollout.candidate and retrained candidates get the same checks as spec.model before anything serves them. */
  async #verifyCandidate(
    model: MaintenanceModel,
    c: MaintenanceModel['spec']['model'],
    fleet: SensorFleet,
    nats: () => Promise<NatsConnection>,
    lookups: ModelLookups,
    io: ReconcileIo,
  ): Promise<{ artifact?: ServedArtifact; refusal?: Refusal }> {
    const artifact: ServedArtifact = {
      version: c.version,
      uri: c.uri,
      sha256: c.sha256,
      inputs: c.inputs,
      ...(c.output ? { output: c.output } : {}),
    };
    const ns = model.metadata.namespace!;
    const ca = c.caSecretRef ? await readArtifactCa(ns, c.caSecretRef, lookups.secret) : undefined;
    if (ca && !ca.ok) return { refusal: ca.refusal };
    const verified = await this.#deps.verifier.verifyOrQueued(
      { ...artifact, task: model.spec.task, ...(ca ? { ca: ca.pem } : {}) },
      nats,
      io.signal,
    );
    if (!verified.ok) return { refusal: verified.refusal };
    this.#deps.drift?.setBaseline(ns, model.metadata.name!, c.version, verified.signature.baseline);
    const steps = verified.signature.inputs[0]?.sequenceLength;
    const refusal = checkFleetInputs(c.inputs, fleet, steps);
    return refusal ? { refusal } : { artifact };
  }

  /**
   * The rollout's decision (rollout/plan.ts) when spec.rollout is set and a verified stable already
   * serves; undefined otherwise (a first version, or no rollout strategy: the stable path serves
   * spec.model directly). `hold` while a version's check is still queued (e.g. after an operator
   * restart): nothing about the rollout changes until it is known.
   */
  #rollout(ctx: ModelContext, lookups: ModelLookups, now: Date): RolloutStep | 'hold' | undefined {
    const { model, fleet } = ctx;
    if (!model.spec.rollout || !fleet) return undefined;
    const recorded = model.status?.rollout?.stable;
    const superseded = specSuperseded(model);
    const auto = model.status?.autoPromoted;
    const stable: ServedArtifact | undefined = recorded
      ? {
          version: recorded.version,
          uri: recorded.uri,
          sha256: recorded.sha256,
          inputs: recorded.inputs,
          ...(recorded.output ? { output: recorded.output } : {}),
        }
      : (ctx.lastServed ??
        // What an automatic promotion recorded serves even when its ConfigMap is gone.
        (superseded && auto ? { ...ctx.specArtifact!, ...pick(auto) } : undefined));
    if (!stable) return undefined;
    if (ctx.artifactRefusal?.pending || ctx.candidateRefusal?.pending || ctx.retrainRefusal?.pending)
      return 'hold';
    const ns = model.metadata.namespace!;
    // A candidate that passed and was then moved into spec.model is served directly: it was analysed.
    // The spec.model an automatic promotion replaced is no target at all.
    const spec =
      ctx.specArtifact &&
      !superseded &&
      ctx.specArtifact.sha256 !== stable.sha256 &&
      model.status?.promotable?.sha256 !== ctx.specArtifact.sha256
        ? ctx.specArtifact
        : undefined;
    if (ctx.specArtifact && !superseded && !spec && ctx.specArtifact.sha256 !== stable.sha256)
      return undefined;
    const candidate =
      !spec && ctx.candidateArtifact && ctx.candidateArtifact.sha256 !== stable.sha256
        ? ctx.candidateArtifact
        : undefined;
    const retrain =
      !spec && !candidate && ctx.retrain && ctx.retrain.artifact.sha256 !== stable.sha256
        ? ctx.retrain
        : undefined;
    const target = spec ?? candidate ?? retrain?.artifact;
    const render = (artifact: ServedArtifact, role: Role) =>
      configHash(
        renderRuntimeConfig(
          desiredRuntimeConfig(model, fleet, artifact, this.#deps.maxArtifactBytes, role, credentials(ctx)),
        ),
      );
    const candidateReady = (role: CandidateRole): boolean =>
      !!target &&
      rolledOut(deploymentState(lookups.deployment(ns, roleChildName(model, role)), render(target, role)));
    const stableRunsTarget =
      !!target &&
      rolledOut(deploymentState(lookups.deployment(ns, model.metadata.name!), render(target, 'stable')));
    const plan = planRollout({
      model,
      stable: { ...stable },
      target: target && {
        artifact: { version: target.version, uri: target.uri, sha256: target.sha256 },
        source: spec ? 'Spec' : candidate ? 'Candidate' : 'RetrainPolicy',
        ...(retrain && !spec && !candidate ? { policy: retrain.policy } : {}),
      },
      candidateReady,
      stableRunsTarget,
      partitions: fleet.spec.stream.partitions,
      inputMode: model.spec.serving.inputMode,
      measure: (role, version, from, to) =>
        this.#telemetry.measure(ns, model.metadata.name!, role, version, from, to),
      now,
    });
    return { plan, target, served: plan.stableServes === 'target' && target ? target : stable };
  }

  async #act(ctx: ModelContext, lookups: ModelLookups): Promise<ReconcileResult> {
    const { io, model, fleet } = ctx;
    const ns = model.metadata.namespace!;
    const now = this.#deps.now?.() ?? new Date();
    let fleetRefusal = ctx.fleetRefusal;
    const rollout = this.#rollout(ctx, lookups, now);
    const step = rollout === 'hold' ? undefined : rollout;
    // What the children serve, best first: the verified spec.model, else what already serves. When no
    // version was ever verified, spec.fallback's rules alone (an artifact-less config) rather than
    // nothing, so machines are still watched. The first the runtime's schema accepts wins. Under a
    // rollout the stable keeps what it serves until the rollout promotes the new version.
    const choices: (ServedArtifact | undefined)[] = (
      step ? [step.served] : rollout === 'hold' ? [ctx.lastServed] : [ctx.specArtifact, ctx.lastServed]
    ).filter((a) => a !== undefined);
    if (choices.length === 0 && (model.spec.fallback?.rules.length ?? 0) > 0) choices.push(undefined);
    let served: ServedArtifact | undefined;
    let rendered: string | undefined;
    for (const choice of choices) {
      if (!fleet) break;
      try {
        rendered = renderRuntimeConfig(
          desiredRuntimeConfig(model, fleet, choice, this.#deps.maxArtifactBytes, 'stable', credentials(ctx)),
        );
        served = choice;
        break;
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        fleetRefusal ??= { reason: 'InvalidRuntimeConfig', message: `runtime config: ${error.message}` };
      }
    }
    const fallbackOnly = rendered !== undefined && served === undefined;

    let deployment = lookups.deployment(ns, model.metadata.name!);
    let natsError: unknown;
    let serviceMonitorPending = false;
    /** The GRPCRoute's hash for the Service's annotation, and what became of it (undefined: not looked at). */
    let route: { annotation: string | undefined; outcome: GrpcRouteOutcome | undefined } | undefined;
    if (fleet && rendered) {
      const version = served?.version ?? FALLBACK_VERSION;
      const hash = configHash(rendered);
      const templateChanges =
        deployment?.spec?.template.metadata?.annotations?.[CONFIG_HASH_ANNOTATION] !== hash;
      // The rollout's split governs while it hands partitions to the new version (a promotion rolls
      // the stable while the canary holds 100%). Otherwise no split during a roll (see
      // desiredSplit): cleared before any new pod can start.
      const rolloutSplit = step && step.plan.split !== 'stable-only' ? step.plan.split : undefined;
      const holdSplit = rollout === 'hold' && model.status?.rollout !== undefined;
      if (templateChanges && !rolloutSplit && !holdSplit) natsError = await this.#split(ctx, null);
      // The runtimes bind the consumers and never create them: they exist before any pod starts.
      if (model.spec.serving.inputMode === 'jetstream') {
        const shadow = step?.plan.candidate === 'run' && step.plan.candidateRole === 'shadow';
        natsError ??= await this.#consumers(ctx, fleet, shadow);
      }
      // Each child is applied only when the cached one lacks the intent (missing, drifted, or the
      // intent changed): a reconcile woken by a child's status writes nothing. The ConfigMap goes
      // first (the pods mount it); the rest are independent and go together, so a reconcile waits
      // for two API round trips rather than five.
      const client = io.client;
      const name = model.metadata.name!;
      // Before the Deployment: its annotation records what was applied, so a failure here is retried.
      const autoscaler = await this.#autoscaler(io, model, fleet, deployment, lookups);
      // Before the Service, whose annotation records it; held, like the candidate, while a check waits.
      const liveService = lookups.service(ns, name);
      route =
        rollout === 'hold'
          ? { annotation: liveService?.metadata?.annotations?.[GRPC_ROUTE_ANNOTATION], outcome: undefined }
          : await this.#grpcRoute(io, model, step, liveService, lookups);
      await applyIfNeeded(
        client,
        desiredConfigMap(model, rendered),
        lookups.configMap(ns, configMapName(model)),
      );
      const [applied] = await Promise.all([
        applyIfNeeded(
          client,
          desiredDeployment({
            model,
            fleet,
            image: this.#deps.image,
            configHash: hash,
            version,
            autoscaler,
          }),
          deployment,
        ),
        applyIfNeeded(client, desiredService(model, route.annotation), liveService),
        this.#podDisruptionBudget(io, model, lookups.podDisruptionBudget(ns, name)),
        servesServiceMonitors(lookups.serviceMonitorCrd())
          ? apply(client, desiredServiceMonitor(model) as KubernetesObject).catch((error: unknown) => {
              // Established CRDs reach API discovery a moment later: not a failure, look again soon.
              if (!isNotFound(error)) throw error;
              serviceMonitorPending = true;
            })
          : undefined,
      ]);
      deployment = applied.obj;
      if (rollout !== 'hold') await this.#candidate(io, model, fleet, step, lookups, credentials(ctx));
      const state = deploymentState(deployment, hash);
      if (!holdSplit)
        natsError ??= await this.#split(ctx, rolloutSplit ?? desiredSplit(version, rolledOut(state)));
    }

    const state = deploymentState(deployment, undefined);
    const status = modelStatus({
      model,
      fleetRefusal,
      artifactRefusal: ctx.artifactRefusal,
      served: fleet ? served : ctx.lastServed,
      fallbackOnly,
      deployment: state,
      endpoint: grpcEndpoint(model),
      now,
    });
    if (step) withRollout(status, model, step.plan, now);
    else if (rollout === 'hold') keepRollout(status, model);
    if (ctx.candidateRefusal && !ctx.candidateRefusal.pending)
      status.conditions = setCondition(
        status.conditions,
        {
          type: 'Progressing',
          status: 'False',
          reason: 'CandidateNotVerified',
          message: `rollout.candidate: ${ctx.candidateRefusal.reason}: ${ctx.candidateRefusal.message}`,
          observedGeneration: model.metadata.generation,
        },
        now,
      );
    if (route?.outcome)
      this.#routeCondition(io, model, status, grpcRouteCondition(model, route.outcome), now);
    this.#alertingCondition(io, model, status, alertingCondition(ctx.alerting, model), now);
    this.#driftCondition(io, model, status, modelDriftCondition(model, lookups.policies(ns)), now);
    this.#recordTransitions(io, model, status.conditions ?? []);
    for (const e of step?.plan.events ?? []) void io.events.emit(model, { ...e, action: 'Rollout' });
    await updateStatus(io.client, model, status, this.#statusWrites);
    // Acted on and recorded in status: the control annotations go.
    if (step && step.plan.consumed.length > 0) {
      await clearAnnotations(io, model, step.plan.consumed);
      const annotations = model.metadata.annotations ?? {};
      this.#cleared.set(
        objectKey(model.metadata.namespace, model.metadata.name!),
        Object.fromEntries(step.plan.consumed.map((k) => [k, annotations[k] ?? ''])),
      );
    }
    if (natsError) throw natsError;
    if (serviceMonitorPending || route?.outcome?.kind === 'discoveryPending')
      return { requeueAfterMs: DISCOVERY_RETRY_MS };
    if (step?.plan.requeueAfterMs !== undefined) return { requeueAfterMs: step.plan.requeueAfterMs };
    // A check waiting for a load-check slot is looked at again soon; its verdict is cached by then.
    if (ctx.artifactRefusal?.pending) return { requeueAfterMs: QUEUED_RETRY_MS };
    const reason = ctx.artifactRefusal?.reason ?? fleetRefusal?.reason;
    return reason && TRANSIENT.has(reason) ? { requeueAfterMs: TRANSIENT_RETRY_MS } : {};
  }

  /**
   * serving.autoscaling's ScaledObject or HorizontalPodAutoscaler (autoscaler.ts), removing the other
   * kind when the choice changed. The HPA is cached and repaired like the other children; the
   * ScaledObject (whose CRD may be absent) is applied when it changes, as the Deployment's annotation
   * (kind and a hash of what was applied) tells.
   */
  async #autoscaler(
    io: ReconcileIo,
    model: MaintenanceModel,
    fleet: SensorFleet,
    deployment: V1Deployment | undefined,
    lookups: ModelLookups,
  ) {
    const ns = model.metadata.namespace!;
    const name = model.metadata.name!;
    const desired = desiredAutoscaler(model, fleet, servesScaledObjects(lookups.scaledObjectCrd()));
    const applied = deployment?.metadata?.annotations?.[AUTOSCALER_ANNOTATION];
    const want = desired && autoscalerAnnotation(desired);
    const hpa = lookups.horizontalPodAutoscaler(ns, name);
    if (desired?.kind === 'HorizontalPodAutoscaler') await applyIfNeeded(io.client, desired.object, hpa);
    else await pruneIfOwned(io.client, hpa, model);
    if (desired?.kind === 'ScaledObject' && applied !== want) await apply(io.client, desired.object);
    if (desired?.kind !== 'ScaledObject' && applied?.startsWith('ScaledObject'))
      await io.client.delete({ ...SCALED_OBJECT, namespace: ns, name });
    if (desired?.clamped && applied !== want) {
      void io.events.emit(model, {
        type: 'Warning',
        reason: 'AutoscalingClamped',
        message: `serving.autoscaling.maxReplicas ${model.spec.serving.autoscaling!.maxReplicas} is above the fleet's ${fleet.spec.stream.partitions} partitions; the autoscaler stops at ${fleet.spec.stream.partitions} (a partition is scored by one replica)`,
        action: 'Autoscale',
      });
    }
    return want;
  }

  /**
   * serving.grpcRoute's GRPCRoute (traffic/grpcRoute.ts) while the Gateway API serves it: applied when
   * it changes, as the Service's annotation (a hash of what was applied) tells, and deleted once it is
   * no longer wanted. Returns the annotation the Service should carry and what became of the route.
   */
  async #grpcRoute(
    io: ReconcileIo,
    model: MaintenanceModel,
    step: RolloutStep | undefined,
    service: V1Service | undefined,
    lookups: ModelLookups,
  ): Promise<{ annotation: string | undefined; outcome: GrpcRouteOutcome }> {
    const applied = service?.metadata?.annotations?.[GRPC_ROUTE_ANNOTATION];
    const served = lookups.gatewayApi && servesGrpcRoutes(lookups.grpcRouteCrd());
    const desired = served ? desiredGrpcRoute(model, routedCanaryWeight(step?.plan)) : undefined;
    if (desired) {
      const want = grpcRouteAnnotation(desired);
      if (applied !== want) {
        try {
          await apply(io.client, desired);
        } catch (error) {
          // Established CRDs reach API discovery a moment later: not a failure, look again soon.
          if (!isNotFound(error)) throw error;
          return { annotation: applied, outcome: { kind: 'discoveryPending' } };
        }
      }
      return { annotation: want, outcome: { kind: 'applied', route: desired } };
    }
    if (applied)
      await io.client
        .delete({ ...GRPC_ROUTE, namespace: model.metadata.namespace!, name: model.metadata.name! })
        .catch((error: unknown) => {
          // Gone already, or the CRD with it.
          if (!isNotFound(error)) throw error;
        });
    return {
      annotation: undefined,
      outcome: { kind: !lookups.gatewayApi ? 'disabled' : served ? 'notRequested' : 'crdMissing' },
    };
  }

  /** Sets (or, without serving.grpcRoute, removes) GRPCRouteApplied, with an Event when it changes. */
  #routeCondition(
    io: ReconcileIo,
    model: MaintenanceModel,
    status: MaintenanceModelStatus,
    next: ConditionInput | undefined,
    now: Date,
  ): void {
    const before = setOptionalCondition(model, status, GRPC_ROUTE_CONDITION, next, now);
    if (
      !next ||
      next.status === 'Unknown' ||
      (before?.status === next.status && before.reason === next.reason)
    )
      return;
    void io.events.emit(model, {
      type: next.status === 'True' ? 'Normal' : 'Warning',
      reason: next.status === 'True' ? 'GRPCRouteApplied' : next.reason,
      message: next.message,
      action: 'Route',
    });
  }

  /** Sets (or, without spec.alerting, removes) AlertmanagerConfigured, with an Event when it changes. */
  #alertingCondition(
    io: ReconcileIo,
    model: MaintenanceModel,
    status: MaintenanceModelStatus,
    next: ConditionInput | undefined,
    now: Date,
  ): void {
    const before = setOptionalCondition(model, status, ALERTING_CONDITION, next, now);
    if (!next || (before?.status === next.status && before.reason === next.reason)) return;
    void io.events.emit(model, {
      type: next.status === 'True' ? 'Normal' : 'Warning',
      reason: next.reason,
      message: next.message,
      action: 'Alerting',
    });
  }

  /** Mirrors the drift-watching policy's verdict; an Event when the model starts or stops drifting. */
  #driftCondition(
    io: ReconcileIo,
    model: MaintenanceModel,
    status: MaintenanceModelStatus,
    next: ConditionInput | undefined,
    now: Date,
  ): void {
    const before = setOptionalCondition(model, status, DRIFTING, next, now);
    if (!next || (next.status === 'True') === (before?.status === 'True')) return;
    void io.events.emit(model, {
      type: next.status === 'True' ? 'Warning' : 'Normal',
      reason: next.reason,
      message: next.message,
      action: 'Drift',
    });
  }

  /**
   * The new version's ConfigMap and Deployment (`<model>-canary` or `<model>-shadow`, by the plan's
   * role) while the plan runs or drains it; the other role's, and both outside a rollout, removed.
   * A canary binds the model's partition consumers and pulls only the partitions the split hands
   * it; a shadow binds its own and reads every reading.
   */
  async #candidate(
    io: ReconcileIo,
    model: MaintenanceModel,
    fleet: SensorFleet,
    step: RolloutStep | undefined,
    lookups: ModelLookups,
    alerting: AlertmanagerCredentials | undefined,
  ): Promise<void> {
    const ns = model.metadata.namespace!;
    const running =
      step && step.plan.candidate !== 'remove' && step.target ? step.plan.candidateRole : undefined;
    for (const role of CANDIDATE_ROLES) {
      const liveDeployment = lookups.deployment(ns, roleChildName(model, role));
      const liveConfig = lookups.configMap(ns, configMapName(model, role));
      // A canary's gRPC Service (a shadow takes no calls), there before its pods can get any weight.
      const liveService = role === 'canary' ? lookups.service(ns, roleChildName(model, role)) : undefined;
      if (role !== running) {
        await pruneIfOwned(io.client, liveDeployment, model);
        await pruneIfOwned(io.client, liveConfig, model);
        await pruneIfOwned(io.client, liveService, model);
        continue;
      }
      if (role === 'canary') await applyIfNeeded(io.client, desiredCanaryService(model), liveService);
      const rendered = renderRuntimeConfig(
        desiredRuntimeConfig(model, fleet, step!.target!, this.#deps.maxArtifactBytes, role, alerting),
      );
      await applyIfNeeded(io.client, desiredConfigMap(model, rendered, role), liveConfig);
      await applyIfNeeded(
        io.client,
        desiredDeployment({
          model,
          fleet,
          image: this.#deps.image,
          configHash: configHash(rendered),
          version: step!.target!.version,
          role,
        }),
        liveDeployment,
      );
    }
  }

  /** The budget where replicas can share a disruption; a scale-down to one replica removes it. */
  async #podDisruptionBudget(
    io: ReconcileIo,
    model: MaintenanceModel,
    live: V1PodDisruptionBudget | undefined,
  ) {
    const desired = desiredPodDisruptionBudget(model);
    if (desired) return applyIfNeeded(io.client, desired, live);
    await pruneIfOwned(io.client, live, model);
    return undefined;
  }

  /**
   * The stable role's consumers (consumers.ts), and a running shadow's, unless they are what was
   * last ensured on this stream. A shadow's go when it stops running.
   */
  #consumers(ctx: ModelContext, fleet: SensorFleet, shadow: boolean): Promise<unknown> {
    const key = splitKey(ctx.model);
    const stream = streamName(fleet);
    const maxInFlight = ctx.model.spec.serving.batching.maxBatch * IN_FLIGHT_BATCHES;
    const desired = [
      ...desiredConsumers(ctx.model, fleet, maxInFlight),
      ...(shadow ? desiredConsumers(ctx.model, fleet, maxInFlight, 'shadow') : []),
    ];
    // The fleet's uid: a fleet deleted and created again has a new stream, and no consumers on it.
    const ensured = JSON.stringify([fleet.metadata.uid, stream, desired]);
    const last = this.#consumerStreams.get(key);
    if (last?.ensured === ensured) return Promise.resolve(undefined);
    return this.#natsWrite(ctx, 'could not reconcile the consumers', async (nc, target) => {
      const changed = await ensureConsumers(nc, stream, ctx.model, desired, ctx.io.fence);
      this.#consumerStreams.set(key, { target, stream, ensured });
      if (changed.created.length + changed.updated.length + changed.deleted.length > 0)
        this.#deps.log.info({ model: key, ...changed }, 'consumers reconciled');
    });
  }

  #split(ctx: ModelContext, split: ReturnType<typeof desiredSplit>): Promise<unknown> {
    return this.#natsWrite(ctx, 'could not write the rollout split', async (nc, target) => {
      await writeSplit(nc, splitKey(ctx.model), split, ctx.io.fence);
      this.#splitTargets.set(splitKey(ctx.model), target);
    });
  }

  /**
   * A write on the fleet's NATS: its failure is returned (the status is still written, then the
   * reconcile fails and is retried), except the fence's, which ends the reconcile at once.
   */
  async #natsWrite(
    ctx: ModelContext,
    failure: string,
    write: (nc: NatsConnection, target: NatsTarget) => Promise<void>,
  ): Promise<unknown> {
    if (!ctx.target) return undefined;
    try {
      await write(await ctx.nats(), ctx.target);
      return undefined;
    } catch (error) {
      if (isFenced(error, ctx.io.fence)) throw error;
      this.#deps.log.warn({ err: error, model: splitKey(ctx.model) }, failure);
      return error;
    }
  }

  /**
   * One Event per transition into False (not per reconcile), so a stuck model does not spam writes.
   * Transitions into True in the same reconcile share one Normal Event (a new model's fleet binding and
   * artifact verification are one write, not two).
   */
  #recordTransitions(
    io: ReconcileIo,
    model: MaintenanceModel,
    next: { type: string; status: string; reason: string; message: string }[],
  ) {
    const cleared: { type: string; reason: string; message: string }[] = [];
    for (const type of ['FleetBound', 'ArtifactVerified']) {
      const before = getCondition(model.status?.conditions, type);
      const after = next.find((c) => c.type === type);
      if (!after) continue;
      if (after.status === 'False' && (before?.status !== 'False' || before.reason !== after.reason)) {
        void io.events.emit(model, {
          type: 'Warning',
          reason: after.reason,
          message: after.message,
          action: type === 'FleetBound' ? 'Bind' : 'Verify',
        });
      } else if (after.status === 'True' && before?.status !== 'True') {
        cleared.push({ type, reason: after.reason, message: after.message });
      }
    }
    const last = cleared.at(-1);
    if (last) {
      void io.events.emit(model, {
        type: 'Normal',
        reason: last.reason,
        message: cleared.map((c) => c.message).join('; '),
        action: last.type === 'FleetBound' ? 'Bind' : 'Verify',
      });
    }
  }

  /** Children go with the garbage collector (owner references); the KV key and the consumers are ours to remove. */
  async #cleanup(model: MaintenanceModel, lookups: ModelLookups, io: ReconcileIo): Promise<void> {
    const key = splitKey(model);
    const fleet = lookups.fleet(model.metadata.namespace!, model.spec.fleetRef.name);
    let target = this.#splitTargets.get(key) ?? this.#consumerStreams.get(key)?.target;
    if (fleet)
      target = await resolveNatsTarget(fleet.spec.nats, model.metadata.namespace!, lookups.secret).catch(
        () => target,
      );
    if (!target) {
      this.#deps.log.warn(
        { model: key },
        'no NATS connection known for this model; its split key and consumers (if any) are left in place',
      );
      return;
    }
    const nc = await this.#deps.pool.get(target);
    await purgeSplit(nc, key, io.fence);
    this.#splitTargets.delete(key);
    const stream = fleet ? streamName(fleet) : this.#consumerStreams.get(key)?.stream;
    if (stream) {
      const deleted = await deleteModelConsumers(nc, stream, model, io.fence);
      this.#deps.log.info({ model: key, deleted }, 'deleted the model consumers');
    }
    this.#consumerStreams.delete(key);
  }
}

/** The Alertmanager credentials the runtime configs are rendered with, when they are usable. */
const credentials = (ctx: ModelContext): AlertmanagerCredentials | undefined =>
  ctx.alerting.kind === 'ok' ? ctx.alerting.credentials : undefined;

/** The PEM CA bundle of spec.model.caSecretRef, read from the watched Secret. */
async function readArtifactCa(
  namespace: string,
  ref: SecretKeySelector,
  readSecret: ReadSecret,
): Promise<{ ok: true; pem: string } | { ok: false; refusal: Refusal }> {
  const refusal = (message: string) => ({
    ok: false as const,
    refusal: { reason: 'ArtifactCASecretInvalid', message },
  });
  const secret = await readSecret(namespace, ref.name);
  if (!secret) return refusal(`spec.model.caSecretRef: Secret ${namespace}/${ref.name} does not exist`);
  const data = secret.data?.[ref.key];
  const pem =
    data !== undefined ? Buffer.from(data, 'base64').toString('utf8') : secret.stringData?.[ref.key];
  if (!pem?.includes('-----BEGIN CERTIFICATE-----'))
    return refusal(
      `spec.model.caSecretRef: key ${ref.key} of Secret ${namespace}/${ref.name} holds no PEM certificate`,
    );
  return { ok: true, pem };
}

/** The rollout's part of the status: what it runs, where it is, what it decided. */
function withRollout(
  status: MaintenanceModelStatus,
  model: MaintenanceModel,
  plan: RolloutPlan,
  now: Date,
): void {
  const r = plan.rollout;
  if (r) {
    status.rollout = r;
    const version = { version: r.target.version, sha256: r.target.sha256, since: r.startedAt };
    if (plan.candidateRole === 'shadow') status.shadow = version;
    else status.canary = { ...version, weight: r.weight, step: r.step };
    if (r.results?.[0]) status.analysis = r.results[0];
  }
  if (plan.rolledBack) status.rolledBack = plan.rolledBack;
  if (plan.promotable) status.promotable = plan.promotable;
  if (plan.history.length > 0)
    status.history = [...[...plan.history].reverse(), ...(model.status?.history ?? [])].slice(
      0,
      HISTORY_LIMIT,
    );
  const ended = model.status?.rollout;
  if (plan.promoted && ended?.source === 'RetrainPolicy' && ended.policy) {
    status.source = `retrainpolicy/${ended.policy} (candidate ${ended.target.version})`;
    status.autoPromoted = {
      policy: ended.policy,
      ...pick(ended.target),
      over: model.spec.model.sha256,
      time: rfc3339(now),
    };
  } else if (plan.promoted) status.source = 'spec';
  else {
    if (model.status?.source) status.source = model.status.source;
    if (model.status?.autoPromoted) status.autoPromoted = model.status.autoPromoted;
  }
  for (const c of plan.conditions) status.conditions = setCondition(status.conditions, c, now);
  if (plan.phase && status.phase !== 'Degraded') status.phase = plan.phase;
}

/** While a version's check waits, the rollout's status stays as it was. */
function keepRollout(status: MaintenanceModelStatus, model: MaintenanceModel): void {
  const previous = model.status ?? {};
  for (const key of [
    'rollout',
    'canary',
    'shadow',
    'analysis',
    'rolledBack',
    'promotable',
    'source',
    'autoPromoted',
  ] as const)
    if (previous[key] !== undefined) Object.assign(status, { [key]: previous[key] });
  if (previous.phase && status.phase !== 'Degraded') status.phase = previous.phase;
}

const pick = ({ version, uri, sha256 }: { version: string; uri: string; sha256: string }) => ({
  version,
  uri,
  sha256,
});

/** Removes control annotations the rollout acted on (a merge patch of metadata only, never spec). */
async function clearAnnotations(io: ReconcileIo, model: MaintenanceModel, keys: string[]): Promise<void> {
  await io.client.patch(
    {
      apiVersion: model.apiVersion,
      kind: model.kind,
      namespace: model.metadata.namespace!,
      name: model.metadata.name!,
    },
    { metadata: { annotations: Object.fromEntries(keys.map((k) => [k, null])) } },
    'application/merge-patch+json',
  );
}

/** Sets condition `type` to `next`, or removes it when undefined; returns what the model had before. */
function setOptionalCondition(
  model: MaintenanceModel,
  status: MaintenanceModelStatus,
  type: string,
  next: ConditionInput | undefined,
  now: Date,
): ConditionInput | undefined {
  const before = getCondition(model.status?.conditions, type);
  status.conditions = next
    ? setCondition(status.conditions, next, now)
    : status.conditions?.filter((c) => c.type !== type);
  return before;
}
