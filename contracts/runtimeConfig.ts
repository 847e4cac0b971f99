// The inference runtime's configuration file. The operator renders it into a ConfigMap; people run
// `prognos-inference --config runtime.yaml` with the same file. Every field carries a description so
// the generated reference docs and error messages explain themselves.
import { readFile } from 'node:fs/promises';
import { type Static, Type as T } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';

import {
  AGGREGATIONS,
  MODEL_INPUT_PATTERN,
  resolveInput,
  WINDOW_NAME_PATTERN,
  windowNameClashes,
  type Aggregation,
} from './modelInputs.ts';

export { AGGREGATIONS, type Aggregation };

export const TIMESTAMP_FORMATS = ['RFC3339', 'UnixMillis', 'UnixSeconds'] as const;
export type TimestampFormat = (typeof TIMESTAMP_FORMATS)[number];

/** Default bound on readings in flight per replica, in batches (`input.maxInFlight`). */
export const IN_FLIGHT_BATCHES = 4;
/** Default `input.ackWaitMs`. */
export const DEFAULT_ACK_WAIT_MS = 30_000;
/** How often the pipeline worker reports that its thread runs (`liveness.heartbeatTimeoutMs` is a multiple). */
export const WORKER_HEARTBEAT_INTERVAL_MS = 500;
/**
 * Default liveness limits. Generous next to a healthy worker (a heartbeat every 500 ms, a batch in
 * milliseconds) because loading an ONNX session holds the worker's thread for as long as it takes.
 */
export const DEFAULT_LIVENESS = { heartbeatTimeoutMs: 30_000, maxBatchAgeMs: 60_000 } as const;

const Port = T.Integer({ minimum: 0, maximum: 65535, description: 'TCP port (0 = pick a free port).' });
const TlsFiles = T.Object(
  {
    caFile: T.Optional(T.String({ minLength: 1, description: 'PEM CA bundle used to verify the peer.' })),
    certFile: T.Optional(
      T.String({ minLength: 1, description: 'PEM certificate presented by this process.' }),
    ),
    keyFile: T.Optional(T.String({ minLength: 1, description: 'PEM private key for certFile.' })),
  },
  { additionalProperties: false, description: 'TLS material read from mounted files.' },
);

const GrpcJwtAuth = T.Object(
  {
    jwksFile: T.Optional(
      T.String({
        minLength: 1,
        description:
          'JWKS (JSON) file that verifies the tokens, e.g. a mounted Secret key; re-read when it changes.',
      }),
    ),
    jwksUrl: T.Optional(
      T.String({
        pattern: '^https?://',
        description:
          "URL of a JWKS (an OIDC provider's jwks_uri); fetched on first use and again for an unknown key id.",
      }),
    ),
    issuer: T.String({ minLength: 1, description: 'Required `iss` claim.' }),
    audiences: T.Array(T.String({ minLength: 1 }), {
      minItems: 1,
      description: 'Accepted `aud` values: a token must name at least one.',
    }),
    clockToleranceSeconds: T.Integer({
      minimum: 0,
      maximum: 300,
      default: 30,
      description: 'Clock skew allowed when checking `exp` and `nbf`.',
    }),
  },
  {
    additionalProperties: false,
    description:
      'Bearer JWTs (`authorization: Bearer <jwt>`) signed by a key of the JWKS, with this issuer, an accepted audience, `exp` and `sub`. Exactly one of jwksFile or jwksUrl.',
  },
);

const GrpcRateLimit = T.Object(
  {
    requestsPerSecond: T.Number({
      exclusiveMinimum: 0,
      description: 'Sustained calls per second per caller (token bucket refill).',
    }),
    burst: T.Integer({ minimum: 1, description: 'Calls a caller may make at once (token bucket size).' }),
  },
  {
    additionalProperties: false,
    description:
      'Per-caller limit on InferenceService calls; over it a call gets RESOURCE_EXHAUSTED. The caller is the token subject when auth is on, else the peer IP address.',
  },
);

const Feature = T.Object(
  {
    name: T.String({
      pattern: '^[A-Za-z_][A-Za-z0-9_]*$',
      description: 'JSON field name of the numeric feature.',
    }),
    min: T.Optional(
      T.Number({
        description: 'Smallest accepted value; below it the reading is dead-lettered (out_of_range).',
      }),
    ),
    max: T.Optional(
      T.Number({
        description: 'Largest accepted value; above it the reading is dead-lettered (out_of_range).',
      }),
    ),
    required: T.Boolean({
      default: true,
      description: 'A reading without this field is dead-lettered (missing_field).',
    }),
  },
  { additionalProperties: false },
);

const MachineIdSource = T.Union(
  [
    T.Object(
      {
        subjectToken: T.Integer({
          minimum: 1,
          description: '1-based token of the subject holding the machine id.',
        }),
      },
      { additionalProperties: false },
    ),
    T.Object(
      { field: T.String({ minLength: 1, description: 'JSON field holding the machine id.' }) },
      { additionalProperties: false },
    ),
  ],
  { description: 'Where the machine id comes from: a subject token or a JSON field.' },
);

const Window = T.Object(
  {
    feature: T.String({ description: 'Schema feature this window buffers.' }),
    name: T.Optional(
      T.String({
        minLength: 1,
        maxLength: 63,
        pattern: WINDOW_NAME_PATTERN,
        description:
          'Tells windows over the same feature apart (default: default). Inputs `<feature>.<aggregation>@<name>` read it.',
      }),
    ),
    size: T.Integer({
      minimum: 1,
      maximum: 65535,
      description: 'Number of most recent samples kept per machine (for a time window: at most this many).',
    }),
    durationMs: T.Optional(
      T.Integer({
        minimum: 1,
        description:
          'A time window: the samples whose reading timestamp is within this span of the machine latest reading.',
      }),
    ),
    aggregations: T.Array(T.Union(AGGREGATIONS.map((a) => T.Literal(a))), {
      minItems: 1,
      uniqueItems: true,
      description:
        'Aggregations computed incrementally over the window; each becomes the input `<feature>.<aggregation>`.',
    }),
  },
  { additionalProperties: false },
);

const Severity = T.Union([T.Literal('warning'), T.Literal('critical')]);

export const RuntimeConfigSchema = T.Object(
  {
    namespace: T.String({
      pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
      description: 'Kubernetes namespace of the MaintenanceModel; a token of every output subject.',
    }),
    fleet: T.String({
      pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
      description: 'SensorFleet name; names the dead-letter subject.',
    }),
    model: T.String({ pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', description: 'MaintenanceModel name.' }),
    version: T.String({
      pattern: '^[A-Za-z0-9_-]{1,63}$',
      description: 'Model version this runtime serves (e.g. v3).',
    }),
    role: T.Union([T.Literal('stable'), T.Literal('canary'), T.Literal('shadow')], {
      description: 'Rollout role; a shadow scores every machine and publishes with role=shadow.',
    }),
    task: T.Union([T.Literal('classification'), T.Literal('regression'), T.Literal('anomaly')], {
      description:
        'classification: failure probability; regression: remaining useful life; anomaly: autoencoder reconstruction error.',
    }),
    nats: T.Object(
      {
        servers: T.Array(T.String({ minLength: 1 }), {
          minItems: 1,
          description: 'NATS server URLs (nats://host:4222).',
        }),
        credentialsFile: T.Optional(
          T.String({ minLength: 1, description: 'NATS .creds file (JWT + nkey).' }),
        ),
        tls: T.Optional(TlsFiles),
      },
      { additionalProperties: false, description: 'How to reach NATS.' },
    ),
    input: T.Object(
      {
        mode: T.Union([T.Literal('jetstream'), T.Literal('core')], {
          description:
            'jetstream: durable pull consumer, ack after publish (at-least-once); core: queue group (at-most-once).',
        }),
        subject: T.String({ minLength: 1, description: 'Subject (with wildcards) readings arrive on.' }),
        stream: T.Optional(
          T.String({ minLength: 1, description: 'JetStream stream name (jetstream mode).' }),
        ),
        durable: T.Optional(
          T.String({
            minLength: 1,
            description:
              'Standalone jetstream mode: one durable consumer, created by the runtime when missing (every replica shares it).',
          }),
        ),
        consumers: T.Optional(
          T.Array(T.String({ minLength: 1 }), {
            minItems: 1,
            description:
              'Operator-managed jetstream mode: the consumers to bind, one per stream partition, in partition order; never created here. Each is a pinned_client priority group, and the replicas of a role agree which of them pulls which partition (contracts/consumers.ts).',
          }),
        ),
        queueGroup: T.Optional(
          T.String({ minLength: 1, description: 'Queue group shared by replicas (core mode).' }),
        ),
        machineId: MachineIdSource,
        ackWaitMs: T.Optional(
          T.Integer({
            minimum: 1000,
            description: `jetstream: ack wait (default ${DEFAULT_ACK_WAIT_MS}) of the durable when this runtime creates it (the operator normally does); a reading not acked within it is redelivered.`,
          }),
        ),
        maxInFlight: T.Optional(
          T.Integer({
            minimum: 1,
            description: `Readings taken but not yet acked/handled (collecting + queued + scoring); default ${IN_FLIGHT_BATCHES} × batching.maxBatch. jetstream: pulling pauses at the bound; core: interest is withdrawn at the bound.`,
          }),
        ),
      },
      { additionalProperties: false, description: 'Where readings come from.' },
    ),
    schema: T.Object(
      {
        timestampField: T.String({
          default: 'ts',
          description: 'Field holding the reading time, written as timestampFormat says.',
        }),
        // The default is the SensorFleet API's, so a schema block means the same in the fleet and in a
        // hand-written runtime config (the operator always writes the fleet's format).
        timestampFormat: T.Union(
          TIMESTAMP_FORMATS.map((f) => T.Literal(f)),
          {
            default: 'RFC3339',
            description:
              'RFC3339: a date-time string with a zone (2024-05-01T12:00:00.250Z); UnixMillis / UnixSeconds: a number since the Unix epoch (seconds may have a fraction). Anything else is dead-lettered (bad_timestamp).',
          },
        ),
        features: T.Array(Feature, { minItems: 1, description: 'Numeric features of a reading.' }),
        maxMessageBytes: T.Integer({
          minimum: 64,
          default: 4096,
          description: 'Larger messages are dead-lettered (oversized).',
        }),
        maxFutureSkewMs: T.Integer({
          minimum: 0,
          default: 300_000,
          description: 'Timestamps further ahead of the receive time are dead-lettered.',
        }),
      },
      { additionalProperties: false, description: 'Reading schema, shared with the SensorFleet.' },
    ),
    windows: T.Array(Window, {
      default: [],
      description: 'Per-machine windows over features; windows over the same feature need distinct names.',
    }),
    artifact: T.Optional(
      T.Object(
        {
          uri: T.String({
            pattern: '^(file://|https://|nats-os://)',
            description: 'file:///path, https://host/path or nats-os://<bucket>/<name>.',
          }),
          sha256: T.String({
            pattern: '^[a-f0-9]{64}$',
            description: 'Hex sha256 of the artifact; verified before a session is created.',
          }),
          inputs: T.Array(T.String({ pattern: MODEL_INPUT_PATTERN }), {
            minItems: 1,
            description:
              'Model input columns in order: `<feature>` (latest value), `<feature>.<aggregation>` or `<feature>.<aggregation>@<window>`.',
          }),
          output: T.Optional(
            T.String({ minLength: 1, description: 'Model output to read; default: the first output.' }),
          ),
          caFile: T.Optional(
            T.String({
              minLength: 1,
              description: 'PEM file of the CA trusted for an https:// uri instead of the system roots.',
            }),
          ),
          maxBytes: T.Optional(
            T.Integer({
              minimum: 1,
              description: 'Largest artifact read, in bytes (default 256 MiB); the read stops there.',
            }),
          ),
        },
        {
          additionalProperties: false,
          description:
            'The ONNX model to serve. Without it (the operator has no verified model) fallback rules score every reading, marked fallback, and the runtime reports Degraded; with no rules either it never becomes ready.',
        },
      ),
    ),
    thresholds: T.Object(
      {
        warning: T.Number({
          description:
            'classification/anomaly: score at or above is warning; regression: RUL at or below is warning.',
        }),
        critical: T.Number({
          description:
            'classification/anomaly: score at or above is critical; regression: RUL at or below is critical.',
        }),
        horizonCycles: T.Optional(
          T.Number({
            exclusiveMinimum: 0,
            description: 'regression: RUL at which health is 100 (default 2 × warning).',
          }),
        ),
        errorScale: T.Optional(
          T.Number({
            exclusiveMinimum: 0,
            description: 'anomaly: reconstruction error at which health is 0 (default critical).',
          }),
        ),
      },
      {
        additionalProperties: false,
        description: 'Severity thresholds; the health score 0-100 derives from them.',
      },
    ),
    fallback: T.Object(
      {
        rules: T.Array(
          T.Object(
            {
              feature: T.String({ description: 'An input name (`<feature>` or `<feature>.<aggregation>`).' }),
              above: T.Optional(T.Number({ description: 'Fires when the value is above this.' })),
              below: T.Optional(T.Number({ description: 'Fires when the value is below this.' })),
              severity: Severity,
            },
            { additionalProperties: false },
          ),
          { default: [] },
        ),
      },
      {
        additionalProperties: false,
        default: {},
        description: 'Threshold rules that score readings (marked fallback) when no model can serve.',
      },
    ),
    batching: T.Object(
      {
        maxBatch: T.Integer({ minimum: 1, maximum: 4096, default: 256, description: 'Rows per ORT run.' }),
        maxDelayMs: T.Number({
          minimum: 0,
          maximum: 1000,
          default: 5,
          description: 'Longest a reading waits for its batch to fill.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    explain: T.Object(
      {
        enabled: T.Boolean({
          default: true,
          description: 'Attach per-feature contributions to every prediction.',
        }),
        method: T.Union([T.Literal('auto'), T.Literal('linear'), T.Literal('occlusion')], {
          default: 'auto',
          description:
            'auto: exact for models whose metadata declares them linear, occlusion against the baseline otherwise.',
        }),
        granularity: T.Union([T.Literal('feature'), T.Literal('input')], {
          default: 'feature',
          description:
            'feature: one contribution per sensor feature, covering every model input derived from it (`vibration`, `vibration.mean`, ...); occlusion costs one extra row per feature. input: one per model input (one extra row per input).',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    ort: T.Object(
      {
        intraOpThreads: T.Integer({
          minimum: 1,
          default: 1,
          description: 'ORT intra-op threads (ORT would otherwise size by host cores).',
        }),
        interOpThreads: T.Integer({ minimum: 1, default: 1, description: 'ORT inter-op threads.' }),
        worker: T.Boolean({
          default: true,
          description:
            'For pipelines created on an event loop (createPipeline): score in a worker thread, since onnxruntime-node runs a session on the calling thread. The runtime does not need it: its NATS pipeline runs whole in its own worker thread, and gRPC scores in-process (one Predict run is tens of microseconds).',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    labels: T.Optional(
      T.Object(
        {
          subject: T.String({
            minLength: 1,
            description:
              'The fleet own subject of maintenance events (SensorFleet spec.labels.subject), e.g. plant-a.pumps.*.events: its repair and maintenance events reset count_since_maintenance like those on prognos.labels.<ns>.<fleet>.<machine>; the machine id is found as for readings (input.machineId) unless the event names it.',
          }),
        },
        { additionalProperties: false },
      ),
    ),
    machineTtlSeconds: T.Integer({
      minimum: 1,
      default: 3600,
      description: 'Window state of a machine idle this long is evicted.',
    }),
    alerts: T.Object(
      {
        hysteresis: T.Number({
          minimum: 0,
          default: 0,
          description: 'Score margin past a threshold needed before an alert de-escalates.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    alerting: T.Optional(
      T.Object(
        {
          alertmanager: T.Object(
            {
              url: T.String({
                pattern: '^https?://',
                description:
                  'Base URL of Alertmanager (e.g. http://alertmanager.monitoring:9093); alerts are POSTed to <url>/api/v2/alerts.',
              }),
              bearerTokenFile: T.Optional(
                T.String({
                  minLength: 1,
                  description: 'File holding a bearer token (`Authorization: Bearer`); re-read per request.',
                }),
              ),
              basicAuth: T.Optional(
                T.Object(
                  {
                    usernameFile: T.String({ minLength: 1, description: 'File holding the user name.' }),
                    passwordFile: T.String({ minLength: 1, description: 'File holding the password.' }),
                  },
                  { additionalProperties: false, description: 'HTTP basic auth, re-read per request.' },
                ),
              ),
              caFile: T.Optional(
                T.String({
                  minLength: 1,
                  description: 'PEM CA bundle trusted for an https:// url instead of the system roots.',
                }),
              ),
              refreshIntervalMs: T.Integer({
                minimum: 1000,
                default: 60_000,
                description:
                  'Firing alerts are sent again this often (Alertmanager resolves an alert whose endsAt passes without a refresh).',
              }),
              endsAfterMs: T.Optional(
                T.Integer({
                  minimum: 2000,
                  description:
                    'endsAt of a firing alert, from the time it is sent (default 4 × refreshIntervalMs, as Prometheus does): three refreshes may be lost before Alertmanager resolves it on its own.',
                }),
              ),
              timeoutMs: T.Integer({ minimum: 100, default: 10_000, description: 'Timeout of one POST.' }),
              maxPending: T.Integer({
                minimum: 1,
                default: 10_000,
                description:
                  'Alerts waiting for delivery (one per machine and severity: a newer state replaces a queued one); past it the oldest is dropped and counted.',
              }),
              maxBatch: T.Integer({ minimum: 1, default: 500, description: 'Alerts per POST.' }),
              retry: T.Object(
                {
                  initialMs: T.Integer({
                    minimum: 1,
                    default: 500,
                    description: 'First wait after a failed POST.',
                  }),
                  maxMs: T.Integer({
                    minimum: 1,
                    default: 30_000,
                    description: 'Longest wait between retries (doubling, with jitter).',
                  }),
                },
                { additionalProperties: false, default: {} },
              ),
            },
            {
              additionalProperties: false,
              description: 'Alertmanager API v2 that receives the machine alerts (severity transitions).',
            },
          ),
        },
        {
          additionalProperties: false,
          description: 'Where machine alerts go besides prognos.alerts.<ns>.<model>.<machine>.',
        },
      ),
    ),
    grpc: T.Object(
      {
        port: Port,
        host: T.String({ default: '0.0.0.0' }),
        tls: T.Optional(
          T.Object(
            {
              ...TlsFiles.properties,
              requireClientCert: T.Boolean({
                default: false,
                description: 'mTLS: reject clients without a certificate signed by caFile.',
              }),
            },
            { additionalProperties: false },
          ),
        ),
        auth: T.Optional(
          T.Object(
            { jwt: GrpcJwtAuth },
            {
              additionalProperties: false,
              description:
                'Who may call InferenceService (UNAUTHENTICATED otherwise); grpc.health.v1 and reflection stay open.',
            },
          ),
        ),
        rateLimit: T.Optional(GrpcRateLimit),
      },
      { additionalProperties: false, default: { port: 50051 }, description: 'gRPC server.' },
    ),
    http: T.Object(
      { port: Port, host: T.String({ default: '0.0.0.0' }) },
      { additionalProperties: false, default: { port: 8080 }, description: '/metrics, /healthz, /readyz.' },
    ),
    liveness: T.Object(
      {
        heartbeatTimeoutMs: T.Integer({
          minimum: 2 * WORKER_HEARTBEAT_INTERVAL_MS,
          default: DEFAULT_LIVENESS.heartbeatTimeoutMs,
          description:
            '/healthz fails when the pipeline worker thread has not reported for this long (it reports every 500 ms).',
        }),
        maxBatchAgeMs: T.Integer({
          minimum: 100,
          default: DEFAULT_LIVENESS.maxBatchAgeMs,
          description:
            '/healthz fails when the oldest batch handed to the pipeline worker (so not yet acknowledged) is older than this.',
        }),
      },
      {
        additionalProperties: false,
        default: {},
        description: 'When /healthz reports the pipeline stuck, so that Kubernetes restarts the pod.',
      },
    ),
    telemetry: T.Object(
      { intervalMs: T.Integer({ minimum: 100, default: 5000, description: 'Telemetry publish period.' }) },
      { additionalProperties: false, default: {} },
    ),
    rollout: T.Object(
      {
        kvBucket: T.String({ default: 'prognos-rollouts', description: 'KV bucket holding live splits.' }),
        key: T.Optional(
          T.String({ description: 'Key of this model’s split; default `<namespace>.<model>`.' }),
        ),
        shadowScoreTolerance: T.Optional(
          T.Number({
            minimum: 0,
            description:
              'Shadow of a regression model: the largest |score difference| from the stable that counts as agreement; absent, agreement is the same severity.',
          }),
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    state: T.Object(
      {
        kvBucket: T.String({
          default: 'prognos-machine-health',
          description: 'KV bucket with the latest health per machine.',
        }),
        alertsBucket: T.String({
          default: 'prognos-machine-alerts',
          description:
            'KV bucket with each machine alert state (severity and since when), so a restart or a partition move neither fires an alert again nor drops one.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export type RuntimeConfig = Static<typeof RuntimeConfigSchema>;

export class ConfigError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path || '/'}: ${message}`);
    this.name = 'ConfigError';
    this.path = path;
  }
}

/** Validates an already-parsed document: defaults applied, schema checked, then cross-field rules. */
export function parseRuntimeConfig(doc: unknown): RuntimeConfig {
  const withDefaults = Value.Default(RuntimeConfigSchema, structuredClone(doc));
  const first = Value.Errors(RuntimeConfigSchema, withDefaults).First();
  if (first) throw new ConfigError(first.path, first.message);
  const config = withDefaults as RuntimeConfig;
  checkCrossFieldRules(config);
  return config;
}

/** Reads a YAML or JSON runtime config file (JSON is YAML, so one parser serves both). */
export async function loadRuntimeConfig(path: string): Promise<RuntimeConfig> {
  const text = await readFile(path, 'utf8');
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    throw new ConfigError('', `${path} is not valid YAML/JSON: ${(error as Error).message}`);
  }
  return parseRuntimeConfig(doc);
}

export function rolloutKey(config: RuntimeConfig): string {
  return config.rollout.key ?? `${config.namespace}.${config.model}`;
}

function checkCrossFieldRules(config: RuntimeConfig): void {
  const features = new Map(config.schema.features.map((f, i) => [f.name, i]));
  if (features.size !== config.schema.features.length)
    throw new ConfigError('/schema/features', 'feature names must be unique');
  config.schema.features.forEach((f, i) => {
    if (f.min !== undefined && f.max !== undefined && f.min > f.max)
      throw new ConfigError(`/schema/features/${i}`, 'min must not exceed max');
  });
  config.windows.forEach((w, i) => {
    if (!features.has(w.feature))
      throw new ConfigError(`/windows/${i}/feature`, `unknown feature "${w.feature}"`);
  });
  const clash = windowNameClashes(config.windows)[0];
  if (clash) throw new ConfigError(`/windows/${clash.index}/name`, clash.problem);
  const featureNames = new Set(features.keys());
  const knownInput = (name: string): string | undefined => {
    const resolved = resolveInput(name, featureNames, config.windows);
    return resolved.ok ? undefined : resolved.problem;
  };
  const inputs = config.artifact?.inputs ?? [];
  inputs.forEach((name, i) => {
    const problem = knownInput(name);
    if (problem) throw new ConfigError(`/artifact/inputs/${i}`, problem);
  });
  if (new Set(inputs).size !== inputs.length)
    throw new ConfigError('/artifact/inputs', 'inputs must be unique');
  config.fallback.rules.forEach((r, i) => {
    const problem = knownInput(r.feature);
    if (problem) throw new ConfigError(`/fallback/rules/${i}/feature`, problem);
    if (r.above === undefined && r.below === undefined)
      throw new ConfigError(`/fallback/rules/${i}`, 'a rule needs above or below');
  });
  const { warning, critical } = config.thresholds;
  if (config.task === 'regression' ? critical > warning : critical < warning) {
    const order =
      config.task === 'regression' ? 'critical <= warning (lower RUL is worse)' : 'warning <= critical';
    throw new ConfigError('/thresholds', `expected ${order}`);
  }
  const am = config.alerting?.alertmanager;
  if (am?.endsAfterMs !== undefined && am.endsAfterMs <= am.refreshIntervalMs)
    throw new ConfigError('/alerting/alertmanager/endsAfterMs', 'must exceed refreshIntervalMs');
  if (am && am.retry.maxMs < am.retry.initialMs)
    throw new ConfigError('/alerting/alertmanager/retry', 'maxMs must not be below initialMs');
  const jwt = config.grpc.auth?.jwt;
  if (jwt && (jwt.jwksFile === undefined) === (jwt.jwksUrl === undefined))
    throw new ConfigError('/grpc/auth/jwt', 'needs exactly one of jwksFile or jwksUrl');
  if (
    config.input.mode === 'jetstream' &&
    (!config.input.stream || (config.input.durable === undefined) === (config.input.consumers === undefined))
  ) {
    throw new ConfigError('/input', 'jetstream mode needs stream and exactly one of durable or consumers');
  }
}
