// Wires one inference runtime: NATS connection → input (JetStream or core) → pipeline → output,
// plus the rollout split watch, maintenance labels, machine-health store, telemetry, gRPC and HTTP.
//
// Start order keeps probes honest: HTTP first (liveness answers while NATS is still unreachable),
// then NATS, the model, the split (applied before any reading is taken), and input last.
// stop() reverses it: leave the role's membership, stop pulling, finish/publish/ack the in-flight
// batches and hand the partitions' pins over, flush telemetry, close gRPC, drain NATS.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { DEFAULT_ARTIFACT_TIMEOUT_MS, readArtifact } from '../../contracts/artifactStore.ts';
import { Objm } from '@nats-io/obj';
import type { Msg } from '@nats-io/transport-node';
import { pino, type Logger } from 'pino';
import {
  DEFAULT_ACK_WAIT_MS,
  IN_FLIGHT_BATCHES,
  rolloutKey,
  type RuntimeConfig,
} from '../../contracts/runtimeConfig.ts';
import { startGrpcServer, type RuntimeGrpcServer } from './serve/grpcServer.ts';
import { startHttpServer, type Liveness, type Readiness } from './serve/httpServer.ts';
import { livenessOf } from './serve/liveness.ts';
import { readinessOf } from './serve/readiness.ts';
import { createInferenceBackend } from './serve/inferenceBackend.ts';
import { labelMachine, RESETTING_EVENTS } from './input/labels.ts';
import { openMachineHealthStore } from './output/machineHealthStore.ts';
import { createRuntimeMetrics, type RuntimeMetrics } from './serve/metrics.ts';
import { openNatsConnection, type RuntimeNatsConnection } from './input/natsConnection.ts';
import { startCoreInput, startJetStreamInput, type BatchHandler, type NatsInput } from './input/natsInput.ts';
import { startMembership, type Membership } from './input/ownership.ts';
import { createNatsOutput } from './output/natsOutput.ts';
import type { ServingState } from './pipeline/pipeline.ts';
import { startPipelineWorker, type WorkerPipeline } from './pipeline/pipelineHost.ts';
import { parseSplit, rolePartitions, type Split } from '../../contracts/split.ts';
import { startSplitWatcher } from './input/splitWatcher.ts';
import { startTelemetry } from './output/telemetry.ts';
import { ShadowComparison, type ComparedPrediction } from './output/shadowComparison.ts';
import { predictionSubject } from '../../contracts/subjects.ts';
import { alertmanagerClient } from './alerting/alertmanagerClient.ts';
import { startAlertmanagerSink, type AlertSink } from './alerting/alertmanagerSink.ts';
import { openAlertStateStore, type AlertStateStore } from './alerting/alertStateStore.ts';
import { MachineAlerts } from './alerting/machineAlerts.ts';

/** A machine's shared health entry is rewritten at most this often unless its severity changes. */
const HEALTH_WRITE_INTERVAL_MS = 5_000;
/** Refreshes of unchanged machine health per second per replica (severity changes are not limited). */
const HEALTH_REFRESHES_PER_SECOND = 1_000;
/** Active alerts are refreshed (shared state, and Alertmanager when configured) this often by default. */
const DEFAULT_ALERT_REFRESH_MS = 60_000;
/** Prometheus's rule: endsAt 4 refresh intervals ahead, so three lost refreshes do not resolve an alert. */
const ENDS_AFTER_REFRESHES = 4;

export interface RuntimeOptions {
  logger?: Logger;
  /** Bind gRPC and HTTP here instead of the configured hosts (main.ts passes POD_IP). */
  bindHost?: string;
}

export interface Runtime {
  httpPort: number;
  grpcPort: number;
  metrics: RuntimeMetrics;
  /** The NATS-fed pipeline (in its worker thread). */
  pipeline: WorkerPipeline;
  readiness(): Readiness;
  liveness(): Liveness;
  /** Graceful stop; bounded by graceMs for the parts that wait on clients. */
  stop(graceMs?: number): Promise<void>;
}

export async function startRuntime(config: RuntimeConfig, opts: RuntimeOptions = {}): Promise<Runtime> {
  const logger = opts.logger ?? pino({ base: { component: 'prognos-inference' } });
  const log = logger.child({
    namespace: config.namespace,
    model: config.model,
    version: config.version,
    role: config.role,
  });
  const metrics = createRuntimeMetrics();
  // Filled in as start-up proceeds; probes read them from the first moment.
  const parts: { conn?: RuntimeNatsConnection; pipeline?: WorkerPipeline; grpc?: RuntimeGrpcServer } = {};

  const readiness = (): Readiness =>
    parts.pipeline && parts.conn
      ? readinessOf(parts.conn.connected(), parts.pipeline.serving(), config.fallback.rules.length)
      : { ready: false, reason: parts.conn ? 'loading model' : 'connecting to NATS' };
  // Until the worker exists the runtime is starting (connecting to NATS may take forever, by design).
  const liveness = (): Liveness => livenessOf(parts.pipeline?.progress(), performance.now(), config.liveness);
  const refreshHealth = (): void => parts.grpc?.setServing(readiness().ready);
  const onServingChange = (state: ServingState): void => {
    metrics.modelInfo.reset();
    metrics.modelInfo.set(
      {
        model: config.model,
        version: state.version ?? 'fallback',
        role: config.role,
        sha256: state.sha256 ?? '',
        fallback: String(!state.modelServing),
      },
      1,
    );
    if (state.lastError)
      log.error(
        { reason: state.lastError.reason, version: state.lastError.version, err: state.lastError.message },
        'model not served',
      );
    else if (!state.modelServing)
      log.warn(
        { fallbackRules: config.fallback.rules.length },
        'no artifact configured; only fallback rules can score',
      );
    else log.info({ servingVersion: state.version, explain: state.explain }, 'model serving');
    refreshHealth();
  };

  const http = await startHttpServer({
    host: opts.bindHost ?? config.http.host,
    port: config.http.port,
    registry: metrics.registry,
    readiness,
    liveness,
  });
  const conn = await openNatsConnection({
    config,
    logger: log,
    onConnectedChange: (connected) => {
      metrics.natsConnected.set(connected ? 1 : 0);
      refreshHealth();
    },
  });
  parts.conn = conn;
  const { nc } = conn;
  const objm = new Objm(nc);
  const readObject = (uri: string, maxBytes: number): Promise<Uint8Array> =>
    readArtifact(uri, {
      maxBytes,
      timeoutMs: DEFAULT_ARTIFACT_TIMEOUT_MS,
      objectStore: (bucket) => objm.open(bucket),
    });
  // The NATS-fed pipeline (decode, windows, ORT, contributions, encoding) runs in a worker thread;
  // this thread does NATS I/O, publishing and acking.
  const natsPipeline = await startPipelineWorker(config, {
    readObject,
    onServingChange,
    onFailure: (error) => {
      // Unacked readings are redelivered after a restart; a runtime without its scorer must not linger.
      log.fatal({ err: error }, 'pipeline worker failed; exiting');
      process.exit(1);
    },
  });
  parts.pipeline = natsPipeline;
  onServingChange(natsPipeline.serving());

  const healthStore = await openMachineHealthStore({
    nc,
    bucket: config.state.kvBucket,
    namespace: config.namespace,
    model: config.model,
    minIntervalMs: HEALTH_WRITE_INTERVAL_MS,
    maxRefreshesPerSecond: HEALTH_REFRESHES_PER_SECOND,
    ttlMs: config.machineTtlSeconds * 1000,
  });
  // Machine alerts: hysteresis state shared through the alert-state store (a shadow raises none),
  // delivered to Alertmanager when configured. Seeded before any reading is taken.
  const am = config.alerting?.alertmanager;
  const alertRefreshMs = am?.refreshIntervalMs ?? DEFAULT_ALERT_REFRESH_MS;
  let machineAlerts: MachineAlerts | undefined;
  let alertStore: AlertStateStore | undefined;
  let alertSink: AlertSink | undefined;
  let alertTimer: NodeJS.Timeout | undefined;
  if (config.role !== 'shadow') {
    alertStore = await openAlertStateStore({
      nc,
      bucket: config.state.alertsBucket,
      namespace: config.namespace,
      model: config.model,
      writer: `${process.env['POD_NAME'] ?? hostname()}_${process.pid}_${randomUUID().slice(0, 8)}`,
      // Active alerts are rewritten every refresh: the TTL only removes what nobody holds.
      ttlMs: Math.max(config.machineTtlSeconds * 1000, 10 * alertRefreshMs),
      logger: log,
    });
    alertSink = am
      ? startAlertmanagerSink({
          post: alertmanagerClient(am),
          namespace: config.namespace,
          model: config.model,
          endsAfterMs: am.endsAfterMs ?? ENDS_AFTER_REFRESHES * am.refreshIntervalMs,
          maxPending: am.maxPending,
          maxBatch: am.maxBatch,
          retry: am.retry,
          metrics: metrics.alertmanager,
          logger: log.child({ alertmanager: am.url }),
        })
      : undefined;
    machineAlerts = new MachineAlerts({
      store: alertStore,
      ...(alertSink ? { sink: alertSink } : {}),
      restore: (states, handedOut) => natsPipeline.restoreAlerts(states, handedOut),
      refreshMs: alertRefreshMs,
      idleMs: config.machineTtlSeconds * 1000,
    });
    natsPipeline.restoreAlerts(
      [...alertStore.initial].map(([id, s]) => [
        id,
        s.severity === 'ok' ? null : { severity: s.severity, since: s.since },
      ]),
      false,
    );
    if (alertStore.initial.size > 0) log.info({ active: alertStore.initial.size }, 'alert states restored');
    const alerts = machineAlerts;
    alertStore.follow((machineId, state) => alerts.onForeign(machineId, state));
    alertTimer = setInterval(() => alerts.tick(), Math.max(250, alertRefreshMs / 4));
    alertTimer.unref();
  }

  // Operator-managed consumers, one per partition: the role's replicas share out the partitions the
  // split gives the role (ownership.ts); the split's watch is applied before any of them is pulled.
  const consumers = config.input.consumers;
  let split: Split | null = null;
  let membership: Membership | undefined = undefined;
  const splitWatcher = await startSplitWatcher({
    nc,
    bucket: config.rollout.kvBucket,
    key: rolloutKey(config),
    parse: (text) => parseSplit(JSON.parse(text)),
    apply: (next) => {
      split = next;
      natsPipeline.setSplit(next);
      if (consumers) membership?.setAllowed(rolePartitions(next, config.role, consumers.length));
    },
    logger: log,
  });
  // Maintenance events: the canonical subject, and the fleet's own when it has one.
  const onLabel = (_err: unknown, msg: Msg): void => {
    try {
      const event = msg.json<Record<string, unknown>>();
      const machine = labelMachine(msg.subject, event, config.input.machineId);
      if (machine && typeof event['event'] === 'string' && RESETTING_EVENTS.has(event['event']))
        natsPipeline.markMaintenance(machine); // both pipelines' windows
    } catch (error) {
      log.warn({ err: error, subject: msg.subject }, 'ignoring malformed label');
    }
  };
  const labelSubs = [
    nc.subscribe(`prognos.labels.${config.namespace}.${config.fleet}.*`, { callback: onLabel }),
    ...(config.labels ? [nc.subscribe(config.labels.subject, { callback: onLabel })] : []),
  ];

  const output = createNatsOutput(nc, config);
  // Machine health: the worker sends only entries due under the store's rule; the store applies
  // its refresh budget on top.
  const healthOpts =
    config.role === 'shadow'
      ? {}
      : {
          healthIntervalMs: HEALTH_WRITE_INTERVAL_MS,
          healthRefreshesPerSecond: HEALTH_REFRESHES_PER_SECOND,
          alertRefreshMs,
        };
  const handler: BatchHandler = async (batch) => {
    const started = performance.now();
    const result = await natsPipeline.processEncoded(batch, healthOpts);
    output.publish(result);
    machineAlerts?.onBatch(result.alerts, result.alertRefreshes);
    metrics.batchSize.observe(batch.length);
    metrics.batchLatency.observe((performance.now() - started) / 1000);
    const predictions = result.predictionCount;
    const deadLetters = result.deadLetterReasons.length;
    const filtered = batch.length - predictions - deadLetters;
    if (predictions) metrics.readings.inc({ outcome: 'prediction' }, predictions);
    if (deadLetters) metrics.readings.inc({ outcome: 'dead_letter' }, deadLetters);
    if (filtered) metrics.readings.inc({ outcome: 'filtered' }, filtered);
    for (const reason of result.deadLetterReasons) metrics.deadLetters.inc({ reason });
    for (const h of result.health) healthStore.update({ ...h, updatedAt: 0 });
    return { dispositions: result.dispositions, termReasons: result.deadLetterReasons };
  };

  const grpc = await startGrpcServer({
    config,
    host: opts.bindHost ?? config.grpc.host,
    backend: createInferenceBackend({
      config,
      nc,
      score: (messages) => natsPipeline.predict(messages),
      healthStore,
      metrics,
    }),
  });
  parts.grpc = grpc;
  refreshHealth();
  // A shadow pairs its predictions with the stable's on the model's prediction subject.
  const comparison =
    config.role === 'shadow'
      ? new ShadowComparison(config.task, config.rollout.shadowScoreTolerance)
      : undefined;
  const comparisonSub =
    comparison &&
    nc.subscribe(predictionSubject(config.namespace, config.model, '*'), {
      callback: (_err, msg) => {
        try {
          comparison.observe(msg.json<ComparedPrediction>());
        } catch (error) {
          log.debug({ err: error, subject: msg.subject }, 'ignoring a prediction that does not parse');
        }
      },
    });
  const telemetry = startTelemetry({
    nc,
    namespace: config.namespace,
    configuredVersion: config.version,
    intervalMs: config.telemetry.intervalMs,
    stats: () => natsPipeline.stats(),
    ...(comparison ? { shadowCounts: () => comparison.counts() } : {}),
    logger: log,
  });

  const common = {
    nc,
    subject: config.input.subject,
    maxBatch: config.batching.maxBatch,
    maxDelayMs: config.batching.maxDelayMs,
    maxInFlight: config.input.maxInFlight ?? config.batching.maxBatch * IN_FLIGHT_BATCHES,
    handler,
    logger: log,
  };
  membership = consumers
    ? await startMembership({
        nc,
        namespace: config.namespace,
        model: config.model,
        role: config.role,
        member: `${process.env['POD_NAME'] ?? hostname()}_${process.pid}`,
        consumers,
        allowed: rolePartitions(split, config.role, consumers.length),
        logger: log,
      })
    : undefined;
  // A split that arrived while the membership was starting was not handed to it.
  if (consumers) membership?.setAllowed(rolePartitions(split, config.role, consumers.length));
  const input: NatsInput =
    config.input.mode === 'jetstream'
      ? await startJetStreamInput({
          ...common,
          stream: config.input.stream!,
          ...(consumers ? { consumers, ownership: membership! } : { durable: config.input.durable! }),
          ackWaitMs: config.input.ackWaitMs ?? DEFAULT_ACK_WAIT_MS,
          onRedelivery: () => metrics.redeliveries.inc(),
        })
      : await startCoreInput({
          ...common,
          queueGroup: config.input.queueGroup ?? `${config.model}-${config.version}`,
          onDropped: (n) => metrics.dropped.inc({ reason: 'in_flight_limit' }, n),
        });

  log.info({ httpPort: http.port, grpcPort: grpc.port, mode: config.input.mode }, 'runtime started');
  let stopped: Promise<void> | undefined;
  return {
    httpPort: http.port,
    grpcPort: grpc.port,
    metrics,
    pipeline: natsPipeline,
    readiness,
    liveness,
    stop(graceMs = 25_000) {
      stopped ??= (async () => {
        grpc.setServing(false);
        // Leave first: peers start pulling this replica's partitions while it finishes its own.
        await membership?.stop();
        await input.stop();
        clearInterval(alertTimer);
        // The last batches' resolutions go out before the connection closes.
        await alertSink?.stop(Math.min(5_000, graceMs / 3));
        alertStore?.stop();
        await natsPipeline.refreshStats().catch(() => undefined);
        telemetry.flush();
        telemetry.stop();
        await splitWatcher.stop();
        for (const sub of labelSubs) sub.unsubscribe();
        comparisonSub?.unsubscribe();
        healthStore.stop();
        await grpc.close(Math.min(5_000, graceMs / 3));
        await conn.drain();
        await natsPipeline.close();
        await http.close();
        metrics.close();
        log.info('runtime stopped');
      })();
      return stopped;
    },
  };
}
