import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { maintenanceModelController } from './controllers/maintenanceModel/controller.ts';
import {
  ArtifactVerifier,
  DEFAULT_ARTIFACT_LIMITS,
  type ArtifactLimits,
} from './controllers/maintenanceModel/artifactVerifier.ts';
import { DEFAULT_INFERENCE_IMAGE } from './controllers/maintenanceModel/deployment.ts';
import { ModelFleetIndex } from './controllers/maintenanceModel/modelFleetIndex.ts';
import { MaintenanceModelReconciler } from './controllers/maintenanceModel/reconciler.ts';
import { sensorFleetController } from './controllers/sensorFleet/controller.ts';
import { SensorFleetReconciler } from './controllers/sensorFleet/reconciler.ts';
import { TelemetrySubscriber } from './controllers/sensorFleet/telemetrySubscriber.ts';
import { TrafficBook } from './controllers/sensorFleet/trafficBook.ts';
import { RolloutTelemetryBook } from './controllers/maintenanceModel/rollout/telemetryBook.ts';
import { retrainPolicyController } from './controllers/retrainPolicy/controller.ts';
import { RetrainPolicyReconciler } from './controllers/retrainPolicy/reconciler.ts';
import { DriftDetector } from './controllers/retrainPolicy/drift/detector.ts';
import { Operator } from './framework/operator.ts';
import { NatsPool } from './nats/pool.ts';

/**
 * A model's reconcile waits on the API server a few times in a row (finalizer, applies, status), so
 * more workers than the framework's 4 keep the API server busy while a batch of models converges.
 */
export const DEFAULT_MODEL_WORKERS = 8;

export interface PrognosOperatorOptions {
  kubeConfig: KubeConfig;
  /** Watch one namespace; undefined watches all. */
  namespace?: string;
  /** Lease namespace when leader election is on; false runs as leader at once. */
  leaderElection: { namespace: string; name?: string } | false;
  health?: { port: number; host?: string } | false;
  inferenceImage?: string;
  /** The image training Jobs run `prognos-trainer` from (default: the inference image, which holds it). */
  trainerImage?: string;
  /** MaintenanceModels reconciled at once (default DEFAULT_MODEL_WORKERS). */
  modelWorkers?: number;
  /** ServiceMonitors while the prometheus-operator CRD serves them (default true; see ModelControllerOptions). */
  serviceMonitors?: boolean;
  /** KEDA ScaledObjects for autoscaling models while KEDA serves them (default true; see ModelControllerOptions). */
  keda?: boolean;
  /** GRPCRoutes for models that ask for one while the Gateway API serves them (default true; see ModelControllerOptions). */
  gatewayApi?: boolean;
  /** How artifacts are read: size limit and timeout (default DEFAULT_ARTIFACT_LIMITS). */
  artifactLimits?: ArtifactLimits;
  /** Artifact load checks at once (default DEFAULT_MAX_LOAD_CHECKS). */
  maxLoadChecks?: number;
  identity?: string;
  handleSignals?: boolean;
  resyncPeriodMs?: number;
  registry?: Registry;
  logger?: Logger;
}

/**
 * The Prognos operator: the framework's Operator with the SensorFleet, MaintenanceModel and RetrainPolicy controllers,
 * one NATS connection pool and one telemetry subscriber shared by both. Tests run it in-process.
 */
export class PrognosOperator {
  readonly operator: Operator;
  readonly pool: NatsPool;
  /** Drift of every model's stable version, from its telemetry; the RetrainPolicy controller asks it. */
  readonly drift = new DriftDetector();
  readonly #telemetry: TelemetrySubscriber;

  constructor(options: PrognosOperatorOptions) {
    this.operator = new Operator({
      kubeConfig: options.kubeConfig,
      leaderElection: options.leaderElection
        ? {
            namespace: options.leaderElection.namespace,
            name: options.leaderElection.name ?? 'prognos-operator',
          }
        : false,
      health: options.health ?? false,
      ...(options.identity ? { identity: options.identity } : {}),
      ...(options.handleSignals !== undefined ? { handleSignals: options.handleSignals } : {}),
      ...(options.resyncPeriodMs !== undefined ? { resyncPeriodMs: options.resyncPeriodMs } : {}),
      ...(options.registry ? { registry: options.registry } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
    });
    const { log } = this.operator;
    this.pool = new NatsPool({ name: `prognos-operator/${this.operator.identity}` });
    const index = new ModelFleetIndex();
    const book = new TrafficBook();
    const rolloutTelemetry = new RolloutTelemetryBook();
    this.#telemetry = new TelemetrySubscriber({
      book,
      also: (msg) => {
        rolloutTelemetry.record(msg);
        this.drift.observe(msg);
      },
      fleetOf: (ns, model) => index.fleetOf(ns, model),
      log,
    });
    const fleets = new SensorFleetReconciler({
      pool: this.pool,
      book,
      telemetry: this.#telemetry,
      hasModels: (key) => {
        const [ns = '', name = ''] = key.split('/');
        return index.modelsOf(ns, name).length > 0;
      },
      log,
    });
    const models = new MaintenanceModelReconciler({
      index,
      pool: this.pool,
      verifier: new ArtifactVerifier({
        limits: options.artifactLimits ?? DEFAULT_ARTIFACT_LIMITS,
        ...(options.maxLoadChecks ? { maxLoadChecks: options.maxLoadChecks } : {}),
      }),
      maxArtifactBytes: (options.artifactLimits ?? DEFAULT_ARTIFACT_LIMITS).maxBytes,
      image: options.inferenceImage ?? DEFAULT_INFERENCE_IMAGE,
      telemetry: rolloutTelemetry,
      drift: this.drift,
      log,
    });
    // After the controllers stopped, before the Lease is released: nothing publishes or reads any more.
    this.operator.onStop(async () => {
      this.#telemetry.close();
      const drained = await this.pool.close();
      log.info({ connections: drained }, 'NATS connections drained');
    });
    const policies = new RetrainPolicyReconciler({
      image: options.trainerImage ?? options.inferenceImage ?? DEFAULT_INFERENCE_IMAGE,
      drift: (ns, model, trigger, now) => this.drift.assess(ns, model, trigger, now),
      log,
    });
    this.operator.register(sensorFleetController(fleets, index, options.namespace));
    this.operator.register(retrainPolicyController(policies, options.namespace));
    this.operator.register(
      maintenanceModelController(models, index, {
        namespace: options.namespace,
        concurrency: options.modelWorkers ?? DEFAULT_MODEL_WORKERS,
        serviceMonitors: options.serviceMonitors,
        keda: options.keda,
        gatewayApi: options.gatewayApi,
      }),
    );
  }

  start(): Promise<void> {
    return this.operator.start();
  }

  /** The whole shutdown (SIGTERM runs the same): controllers, telemetry, NATS drain, Lease release. */
  stop(): Promise<void> {
    return this.operator.stop();
  }
}
