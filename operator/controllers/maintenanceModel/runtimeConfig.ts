import { parseDuration } from '../../api/duration.ts';
import { roleConsumerNames } from './consumers.ts';
import { DEFAULT_WINDOW_NAME } from '../../../contracts/modelInputs.ts';
import { DEFAULT_MAX_ARTIFACT_BYTES } from '../../../contracts/artifactStore.ts';
import type { MaintenanceModel } from '../../api/maintenanceModel.ts';
import type { SensorFleet } from '../../api/sensorFleet.ts';
import { parseRuntimeConfig, type RuntimeConfig } from '../../../contracts/runtimeConfig.ts';
import type { Role } from '../../../contracts/split.ts';
import { storedSubject, streamName } from '../sensorFleet/desiredStreams.ts';
import { ALERTMANAGER_MOUNT, runtimeAlerting, type AlertmanagerCredentials } from './alerting.ts';

/** The artifact a runtime serves: always one that passed verification, never spec.model unchecked. */
export interface ServedArtifact {
  version: string;
  uri: string;
  sha256: string;
  inputs: string[];
  output?: string;
}

/** Where Secrets are mounted in the runtime pod; the Deployment builder mounts them at the same paths. */
export const MOUNTS = {
  config: '/etc/prognos',
  natsCredentials: '/var/run/secrets/prognos/nats',
  natsTls: '/var/run/secrets/prognos/nats-tls',
  grpcTls: '/var/run/secrets/prognos/grpc-tls',
  artifactCa: '/var/run/secrets/prognos/artifact-ca',
  grpcJwks: '/var/run/secrets/prognos/grpc-jwks',
  alertmanager: ALERTMANAGER_MOUNT,
} as const;

/** The file name of spec.model.caSecretRef's key inside its mount. */
export const ARTIFACT_CA_FILE = 'ca.crt';

export const CONFIG_FILE = 'runtime.yaml';

/**
 * The version a runtime is configured with when it has no artifact: the name runtimes already give
 * rule-scored predictions and telemetry, so the pod label, the split and what the pods report agree.
 */
export const FALLBACK_VERSION = 'fallback';

export const HTTP_PORT = 8080;

/** `exact` in the API is what the runtime calls `linear` (closed-form contributions). */
const explainMethod = { auto: 'auto', exact: 'linear', occlusion: 'occlusion' } as const;

/**
 * The runtime config file for the stable role, validated against the runtime's own schema so a bad
 * combination fails here, in the operator's status, rather than as a crash-looping pod. Without an
 * artifact (no version was ever verified) the runtime scores with spec.fallback's rules alone.
 * `alerting`: the credentials spec.alerting.alertmanager's Secret holds (alerting.ts); without them
 * the runtimes send no alerts to Alertmanager.
 */
export function desiredRuntimeConfig(
  model: MaintenanceModel,
  fleet: SensorFleet,
  artifact: ServedArtifact | undefined,
  maxArtifactBytes = DEFAULT_MAX_ARTIFACT_BYTES,
  role: Role = 'stable',
  alerting?: AlertmanagerCredentials,
): RuntimeConfig {
  const { spec } = model;
  const fs = fleet.spec;
  const jetstream = spec.serving.inputMode === 'jetstream';
  const nats: Record<string, unknown> = { servers: fs.nats.url.split(',') };
  if (fs.nats.credentialsSecretRef)
    nats['credentialsFile'] = `${MOUNTS.natsCredentials}/${fs.nats.credentialsSecretRef.key}`;
  if (fs.nats.tlsSecretRef) {
    nats['tls'] = {
      caFile: `${MOUNTS.natsTls}/ca.crt`,
      certFile: `${MOUNTS.natsTls}/tls.crt`,
      keyFile: `${MOUNTS.natsTls}/tls.key`,
    };
  }
  const input: Record<string, unknown> = {
    mode: spec.serving.inputMode,
    subject: storedSubject(fleet),
    machineId:
      fs.machineId.subjectToken !== undefined
        ? { subjectToken: fs.machineId.subjectToken }
        : { field: fs.machineId.field },
  };
  if (jetstream) {
    input['stream'] = streamName(fleet);
    // The operator creates these (consumers.ts); the runtimes only bind them. A canary binds the
    // stable's: they are the partitions' cursors, and the split says which role pulls each. A
    // shadow reads every reading again, through its own.
    input['consumers'] = roleConsumerNames(model, fleet, role === 'shadow' ? 'shadow' : 'stable');
  } else {
    input['queueGroup'] = `prognos-${model.metadata.name}-${role}`;
  }
  const grpc: Record<string, unknown> = { port: spec.serving.grpc.port, host: '0.0.0.0' };
  if (spec.serving.grpc.tlsSecretRef) {
    grpc['tls'] = {
      certFile: `${MOUNTS.grpcTls}/tls.crt`,
      keyFile: `${MOUNTS.grpcTls}/tls.key`,
      ...(spec.serving.grpc.mutualTLS ? { caFile: `${MOUNTS.grpcTls}/ca.crt`, requireClientCert: true } : {}),
    };
  }
  const jwt = spec.serving.grpc.auth?.jwt;
  if (jwt) {
    grpc['auth'] = {
      jwt: {
        ...(jwt.jwksSecretRef
          ? { jwksFile: `${MOUNTS.grpcJwks}/${jwt.jwksSecretRef.key}` }
          : { jwksUrl: jwt.jwksURL }),
        issuer: jwt.issuer,
        audiences: jwt.audiences,
      },
    };
  }
  if (spec.serving.grpc.rateLimit) grpc['rateLimit'] = { ...spec.serving.grpc.rateLimit };
  const doc = {
    namespace: model.metadata.namespace,
    fleet: fleet.metadata.name,
    model: model.metadata.name,
    version: artifact?.version ?? FALLBACK_VERSION,
    role,
    task: spec.task,
    nats,
    input,
    schema: {
      timestampField: fs.schema.timestampField,
      timestampFormat: fs.schema.timestampFormat,
      features: fs.schema.features.map((f) => {
        const feature: Record<string, unknown> = { name: f.name, required: f.required };
        if (f.min !== undefined) feature['min'] = f.min;
        if (f.max !== undefined) feature['max'] = f.max;
        return feature;
      }),
      maxMessageBytes: fs.schema.maxMessageBytes,
      maxFutureSkewMs: parseDuration(fs.schema.maxFutureSkew),
    },
    // Name and duration only when set: a count window renders as it always did (same config hash).
    windows: (fs.windows ?? []).map((w) => ({
      feature: w.feature,
      ...(w.name !== undefined && w.name !== DEFAULT_WINDOW_NAME ? { name: w.name } : {}),
      size: w.size,
      ...(w.duration !== undefined ? { durationMs: parseDuration(w.duration) } : {}),
      aggregations: w.aggregations,
    })),
    // In its usual place in the rendered YAML: moving it would change every model's config hash.
    ...(artifact
      ? {
          artifact: {
            uri: artifact.uri,
            sha256: artifact.sha256,
            inputs: artifact.inputs,
            ...(artifact.output !== undefined ? { output: artifact.output } : {}),
            ...(spec.model.caSecretRef ? { caFile: `${MOUNTS.artifactCa}/${ARTIFACT_CA_FILE}` } : {}),
            // Rendered only when not the default, so the flag's default changes no config hash.
            ...(maxArtifactBytes !== DEFAULT_MAX_ARTIFACT_BYTES ? { maxBytes: maxArtifactBytes } : {}),
          },
        }
      : {}),
    thresholds: { warning: spec.thresholds.warning, critical: spec.thresholds.critical },
    fallback: { rules: spec.fallback?.rules ?? [] },
    batching: { maxBatch: spec.serving.batching.maxBatch, maxDelayMs: spec.serving.batching.maxDelayMs },
    explain: {
      enabled: spec.explain.enabled,
      method: explainMethod[spec.explain.method],
      granularity: spec.explain.granularity,
    },
    ort: {
      intraOpThreads: spec.serving.onnxRuntime.intraOpThreads,
      interOpThreads: spec.serving.onnxRuntime.interOpThreads,
    },
    // The API's hysteresis is a fraction of the threshold; the runtime wants a score margin.
    alerts: {
      hysteresis: spec.thresholds.hysteresis * Math.min(spec.thresholds.warning, spec.thresholds.critical),
    },
    grpc,
    http: { port: HTTP_PORT, host: '0.0.0.0' },
    rollout: {
      kvBucket: 'prognos-rollouts',
      key: `${model.metadata.namespace}.${model.metadata.name}`,
      ...(role === 'shadow' && spec.rollout?.analysis.shadowScoreTolerance !== undefined
        ? { shadowScoreTolerance: spec.rollout.analysis.shadowScoreTolerance }
        : {}),
    },
    ...(fs.labels ? { labels: { subject: fs.labels.subject } } : {}),
  };
  // Last and only when set: a model without alerting renders as it always did (same config hash).
  const alertingSection = runtimeAlerting(model, alerting);
  return parseRuntimeConfig(alertingSection ? { ...doc, alerting: alertingSection } : doc);
}
