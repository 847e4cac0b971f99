/** MaintenanceModel: an ONNX model bound to a SensorFleet, served by inference runtimes and rolled out safely. */
import { Type, type Static } from '@sinclair/typebox';
import {
  Conditions,
  Duration,
  LocalObjectReference,
  Obj,
  ObjectName,
  ObservedGeneration,
  ResourceRequirements,
  SecretKeySelector,
  StringEnum,
  Timestamp,
  TypeMeta,
  rule,
} from './meta.ts';
import { FEATURE_NAME_PATTERN, MODEL_INPUT_PATTERN } from '../../contracts/modelInputs.ts';

export const MAINTENANCE_MODEL_KIND = 'MaintenanceModel';
export const MAINTENANCE_MODEL_PLURAL = 'maintenancemodels';

export const TASKS = ['classification', 'regression', 'anomaly'] as const;
export type Task = (typeof TASKS)[number];

export const PHASES = ['Stable', 'Progressing', 'Paused', 'RollingBack', 'RolledBack', 'Degraded'] as const;
export type ModelPhase = (typeof PHASES)[number];

export { MODEL_INPUT_PATTERN };

/**
 * Rollout control without editing spec (kubectl annotate, `kubectl prognos`, Argo CD actions). Any
 * value works; the operator removes the annotation once it has acted on it.
 */
export const ROLLOUT_ANNOTATIONS = {
  /** Ends the current canary step now (its remaining pause), as if it had passed. */
  promote: 'prognos.dev/promote',
  /** Skips every remaining step: the new version takes 100% and is promoted. */
  promoteFull: 'prognos.dev/promote-full',
  /** Rolls back to the stable now; the version is not retried until spec changes or retry. */
  abort: 'prognos.dev/abort',
  /** Holds the rollout at its current step (analysis keeps running and can still roll back). */
  pause: 'prognos.dev/pause',
  /** Lifts a pause. */
  resume: 'prognos.dev/resume',
  /** Starts the rolled-back or aborted version's rollout again. */
  retry: 'prognos.dev/retry',
} as const;
export type RolloutAction = keyof typeof ROLLOUT_ANNOTATIONS;

/** serving.startFrom: New, All or an RFC 3339 time with a zone. */
export const START_FROM_PATTERN =
  '^(New|All|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2}))$';

export const URI_SCHEMES = ['file://', 'https://', 'nats-os://'] as const;

const SHA256_PATTERN = '^[a-f0-9]{64}$';

function ModelVersion(description: string) {
  return Type.String({
    description,
    minLength: 1,
    maxLength: 63,
    pattern: '^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$',
  });
}

function Sha256(description: string) {
  return Type.String({ description, pattern: SHA256_PATTERN, minLength: 64, maxLength: 64 });
}

function Artifact(description: string) {
  return Obj(description, {
    version: ModelVersion(
      'Version label of this artifact, e.g. v3. It names the runtime pods, telemetry subjects and history entries, so a new artifact needs a new version.',
    ),
    uri: Type.String({
      description:
        "Where the ONNX file is. file:///models/pump-v3.onnx is a path that BOTH the operator (which verifies it) and the runtime pods (which serve it) can read: a file inside the image they share, or a volume mounted into both; it is not uploaded anywhere. https://models.example.com/pump/v3.onnx (see caSecretRef for a private CA), or nats-os://<bucket>/<object> in the NATS object store of the fleet's server (e.g. nats-os://prognos-models/pump/v3.onnx). Artifacts above the operator's --max-artifact-bytes (default 256 MiB) are refused.",
      minLength: 1,
      maxLength: 2048,
      'x-kubernetes-validations': [
        rule(
          "self.matches('^(file|https|nats-os)://[^\\\\s]+$')",
          `uri must start with ${URI_SCHEMES.join(', ')} and name a file`,
        ),
        rule(
          "!self.startsWith('nats-os://') || self.matches('^nats-os://[^/]+/.+$')",
          'a nats-os uri is nats-os://<bucket>/<object>',
        ),
      ],
    }),
    sha256: Sha256(
      'SHA-256 of the ONNX file as 64 lowercase hex characters (`sha256sum model.onnx`). The runtime refuses to serve a file with another digest.',
    ),
    inputs: Type.Array(
      Type.String({
        description:
          'A feature name (temperature) or a window aggregation (<feature>.<aggregation>, e.g. vibration.rms).',
        minLength: 1,
        maxLength: 96,
        pattern: MODEL_INPUT_PATTERN,
      }),
      {
        description:
          'Values fed to the model, in the order of its input tensor: raw features of the fleet (temperature) and window aggregations (vibration.rms). The operator checks them against the fleet and the ONNX file before serving.',
        minItems: 1,
        maxItems: 1024,
        'x-kubernetes-list-type': 'atomic',
      },
    ),
    output: Type.Optional(
      Type.String({
        description:
          'Name of the ONNX output to read the score from. Omitted: the first output (for classifiers that also emit a label, the probability output).',
        minLength: 1,
        maxLength: 128,
      }),
    ),
    caSecretRef: Type.Optional(
      SecretKeySelector(
        "For an https:// uri: a Secret in the model's namespace whose key holds the PEM CA certificates that sign the server's certificate, trusted instead of the system roots by the operator (verification) and the runtime pods (it is mounted into them). A TLS failure is reported as ArtifactTLSError.",
        'ca.crt',
        'Key of the PEM CA bundle in the Secret.',
      ),
    ),
  });
}

const Thresholds = Obj(
  'Where a score becomes a warning or critical severity; the 0-100 health score is derived from the same values. classification: failure probability in [0, 1], severity when the score reaches the threshold, so warning < critical. anomaly: the anomaly score, either the reconstruction error of an autoencoder (an output as wide as the inputs; mean squared error, in the units of the inputs) or a score output of the model [N, 1] where higher is more anomalous (the isolation forest score 2^(-E[h]/c), PCA T² or Q, or a negated IsolationForest decision function), severity when it reaches the threshold, so warning < critical. regression: remaining useful life (in the units the model predicts, e.g. cycles), severity when the RUL falls to the threshold, so critical < warning.',
  {
    warning: Type.Number({
      description: 'Score at which a machine becomes warning (see thresholds).',
      minimum: 0,
    }),
    critical: Type.Number({
      description: 'Score at which a machine becomes critical (see thresholds).',
      minimum: 0,
    }),
    hysteresis: Type.Number({
      description:
        'Fraction of the threshold a score must move back past before the severity is lowered again, so a machine hovering at a threshold does not flap alerts. 0.05 means 5%.',
      minimum: 0,
      maximum: 0.5,
      default: 0.05,
    }),
  },
);

const FallbackRule = Obj(
  'A threshold rule on one raw feature: exactly one of above or below.',
  {
    feature: Type.String({
      description: 'Raw feature of the fleet to test, e.g. temperature.',
      minLength: 1,
      maxLength: 63,
      pattern: FEATURE_NAME_PATTERN,
    }),
    above: Type.Optional(Type.Number({ description: 'The rule fires when the value is above this.' })),
    below: Type.Optional(Type.Number({ description: 'The rule fires when the value is below this.' })),
    severity: StringEnum(['warning', 'critical'], {
      description: 'Severity a machine gets when the rule fires.',
    }),
  },
  {
    'x-kubernetes-validations': [
      rule('has(self.above) != has(self.below)', 'a fallback rule needs exactly one of above or below'),
    ],
  },
);

const Fallback = Obj(
  'What scores readings when no model can serve (the artifact is unreachable, fails its digest, or does not match the fleet): simple threshold rules, so machines are still watched. Predictions made this way are marked fallback and the model reports phase Degraded.',
  {
    rules: Type.Array(FallbackRule, {
      description: 'Rules evaluated on every reading; the highest severity among those that fire wins.',
      minItems: 1,
      maxItems: 64,
      'x-kubernetes-list-type': 'atomic',
    }),
  },
);

const GrpcJwt = Obj(
  "Bearer JWTs (metadata `authorization: Bearer <jwt>`) signed by a key of a JWKS, with this issuer, one of the audiences, exp and sub. Covers OIDC providers and Kubernetes projected ServiceAccount tokens (issuer: the cluster's --service-account-issuer; JWKS: its /openid/v1/jwks).",
  {
    jwksSecretRef: Type.Optional(
      SecretKeySelector(
        'Secret key holding the JWKS (JSON, {"keys": [...]}), mounted into the pods; the runtime re-reads it when the Secret changes.',
        'jwks.json',
        'Key of the JWKS in the Secret.',
      ),
    ),
    jwksURL: Type.Optional(
      Type.String({
        description:
          "HTTPS URL of the JWKS (the OIDC provider's jwks_uri), fetched by the pods on first use and again for an unknown key id.",
        minLength: 9,
        maxLength: 2048,
        pattern: '^https://[^\\s]+$',
      }),
    ),
    issuer: Type.String({
      description: 'Required iss claim, e.g. https://accounts.example.com or https://kubernetes.default.svc.',
      minLength: 1,
      maxLength: 2048,
    }),
    audiences: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), {
      description: 'Accepted aud values; a token must carry at least one.',
      minItems: 1,
      maxItems: 16,
      'x-kubernetes-list-type': 'set',
    }),
  },
  {
    'x-kubernetes-validations': [
      rule(
        'has(self.jwksSecretRef) != has(self.jwksURL)',
        'auth.jwt needs exactly one of jwksSecretRef or jwksURL',
      ),
    ],
  },
);

const GrpcAuth = Obj(
  'Who may call the InferenceService methods; others get UNAUTHENTICATED. grpc.health.v1 and server reflection stay open. Omitted: anyone who can reach the Service (and passes mTLS, when set).',
  { jwt: GrpcJwt },
);

const GrpcRateLimit = Obj(
  'A token bucket per caller for the InferenceService methods; a call over it gets RESOURCE_EXHAUSTED. The caller is the token subject with auth.jwt, else the client IP address. Per replica: with N replicas a caller may get up to N times the rate.',
  {
    requestsPerSecond: Type.Number({
      description: 'Sustained calls per second per caller.',
      exclusiveMinimum: 0,
      maximum: 1_000_000,
    }),
    burst: Type.Integer({
      description: 'Calls a caller may make at once.',
      minimum: 1,
      maximum: 1_000_000,
    }),
  },
);

const GATEWAY_SECTION_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
const HOSTNAME_PATTERN = '^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';

const GatewayParentRef = Obj('A Gateway (gateway.networking.k8s.io) the GRPCRoute attaches to.', {
  name: ObjectName('Name of the Gateway.'),
  namespace: Type.Optional(
    Type.String({
      description:
        "Namespace of the Gateway. Omitted: the model's namespace. A Gateway elsewhere must allow routes from this namespace (its listeners' allowedRoutes).",
      minLength: 1,
      maxLength: 63,
      pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
    }),
  ),
  sectionName: Type.Optional(
    Type.String({
      description: 'Name of one listener of the Gateway. Omitted: every listener that accepts the route.',
      minLength: 1,
      maxLength: 253,
      pattern: GATEWAY_SECTION_PATTERN,
    }),
  ),
  port: Type.Optional(
    Type.Integer({
      description: 'Attach only to the listeners on this port. Omitted: any port.',
      minimum: 1,
      maximum: 65535,
    }),
  ),
});

const GrpcRoute = Obj(
  "A Gateway API GRPCRoute (gateway.networking.k8s.io/v1) named after the model, sending the Gateway's gRPC calls to the model's Service; during a canary rollout, to the stable Service and the `<model>-canary` Service weighted by the canary's applied weight (status.canary.weight). Created only while the cluster serves the GRPCRoute CRD; otherwise the GRPCRouteApplied condition says so and gRPC reaches the stable pods only, through the model's Service.",
  {
    parentRefs: Type.Array(GatewayParentRef, {
      description: 'The Gateways (or their listeners) that route to the model.',
      minItems: 1,
      maxItems: 32,
      'x-kubernetes-list-type': 'atomic',
    }),
    hostnames: Type.Optional(
      Type.Array(
        Type.String({
          description: 'A host name, or a wildcard of one label (*.example.com).',
          minLength: 1,
          maxLength: 253,
          pattern: HOSTNAME_PATTERN,
        }),
        {
          description:
            'Host names (the :authority of a call) the route matches, e.g. pump-failure.grpc.example.com or *.example.com. Omitted: every host name of the listener.',
          maxItems: 16,
          'x-kubernetes-list-type': 'set',
        },
      ),
    ),
  },
);

const Serving = Obj(
  'How the inference runtime is run: replicas, resources, batching, input mode, gRPC and ONNX Runtime threads.',
  {
    replicas: Type.Integer({
      description:
        'Runtime replicas of the stable version. The fleet stream partitions (spec.stream.partitions of the SensorFleet) are shared among them: each partition, so each machine, is scored by exactly one replica at a time, and moves to another within seconds when that replica goes. Replicas beyond the partition count stand by.',
      minimum: 1,
      maximum: 100,
      default: 1,
    }),
    resources: Type.Optional(
      ResourceRequirements(
        'CPU and memory of each runtime container. Omitted: no requests or limits are set.',
      ),
    ),
    batching: Obj(
      'Readings are scored in batches: per-call overhead, not the model, limits throughput. A batch is sent when it is full or when its oldest reading has waited maxDelayMs.',
      {
        maxBatch: Type.Integer({
          description: 'Most readings scored in one ONNX Runtime call.',
          minimum: 1,
          maximum: 4096,
          default: 256,
        }),
        maxDelayMs: Type.Integer({
          description:
            'Longest a reading waits for its batch to fill, in milliseconds; bounds the added latency.',
          minimum: 0,
          maximum: 1000,
          default: 5,
        }),
      },
      { default: {} },
    ),
    inputMode: StringEnum(['jetstream', 'core'], {
      description:
        'jetstream: durable pull consumers on the fleet stream, created by the operator, a reading is acknowledged only after its prediction is published (at-least-once, survives restarts). core: a plain NATS queue subscription (at-most-once, lowest latency).',
      default: 'jetstream',
    }),
    autoscaling: Type.Optional(
      Obj(
        'Scale the stable replicas with the load instead of serving.replicas: with KEDA installed (its ScaledObject CRD served) and the fleet naming its NATS monitoring endpoint, by consumer lag through KEDA NATS JetStream scaler; otherwise by CPU with a HorizontalPodAutoscaler (needs CPU requests in serving.resources). The operator then leaves spec.replicas of the Deployment to the autoscaler.',
        {
          minReplicas: Type.Integer({
            description: 'Fewest replicas.',
            minimum: 1,
            maximum: 100,
            default: 1,
          }),
          maxReplicas: Type.Integer({
            description:
              'Most replicas; at most the fleet partition count (spec.stream.partitions), since a partition is scored by one replica and more would stand by.',
            minimum: 1,
            maximum: 100,
          }),
          targetLag: Type.Integer({
            description:
              'KEDA: readings waiting (unacknowledged or not yet delivered) per replica that the scaler aims for.',
            minimum: 1,
            default: 1000,
          }),
          natsAccount: Type.String({
            description:
              'KEDA: the NATS account of the fleet stream, as the monitoring endpoint names it ($G when the server has no accounts).',
            minLength: 1,
            maxLength: 128,
            default: '$G',
          }),
          targetCPUUtilization: Type.Integer({
            description: 'HorizontalPodAutoscaler: average CPU utilization (percent of requests) to aim for.',
            minimum: 1,
            maximum: 100,
            default: 70,
          }),
        },
        {
          'x-kubernetes-validations': [
            rule(
              'self.minReplicas <= self.maxReplicas',
              'autoscaling.minReplicas must not exceed maxReplicas',
            ),
          ],
        },
      ),
    ),
    startFrom: Type.String({
      description:
        'jetstream: where a new model starts reading the fleet stream: New (readings from now on), All (every stored reading; a 7-day stream means 7 days of old predictions and alerts) or an RFC 3339 time. Read when the consumers are created; a new version continues where the previous one stopped.',
      pattern: START_FROM_PATTERN,
      maxLength: 64,
      default: 'New',
    }),
    grpc: Obj(
      'The gRPC API of the runtime (Predict, PredictBatch, StreamPredictions, GetMachineHealth, SubmitFeedback), exposed by a Service.',
      {
        port: Type.Integer({
          description: 'Port of the gRPC server and its Service.',
          minimum: 1,
          maximum: 65535,
          default: 50051,
        }),
        tlsSecretRef: Type.Optional(
          LocalObjectReference(
            'kubernetes.io/tls Secret (tls.crt, tls.key) the gRPC server presents. Omitted: plaintext gRPC.',
            'Secret',
          ),
        ),
        mutualTLS: Type.Boolean({
          description: 'Require clients to present a certificate signed by ca.crt from tlsSecretRef (mTLS).',
          default: false,
        }),
        auth: Type.Optional(GrpcAuth),
        rateLimit: Type.Optional(GrpcRateLimit),
      },
      {
        default: {},
        'x-kubernetes-validations': [
          rule(
            '!has(self.mutualTLS) || !self.mutualTLS || has(self.tlsSecretRef)',
            'grpc.mutualTLS needs grpc.tlsSecretRef',
          ),
        ],
      },
    ),
    grpcRoute: Type.Optional(GrpcRoute),
    onnxRuntime: Obj(
      "ONNX Runtime thread pools. They are set explicitly because ONNX Runtime otherwise sizes them from the host's cores, not the container's CPU limit.",
      {
        intraOpThreads: Type.Integer({
          description: 'Threads used inside one operator (e.g. a matrix multiply).',
          minimum: 1,
          maximum: 64,
          default: 1,
        }),
        interOpThreads: Type.Integer({
          description: 'Threads used to run independent operators in parallel.',
          minimum: 1,
          maximum: 64,
          default: 1,
        }),
      },
      { default: {} },
    ),
  },
  { default: {} },
);

const RolloutStep = Obj(
  'One canary step: route weight% of the machines to the new version, then wait and analyse.',
  {
    weight: Type.Integer({
      description:
        'Percentage of machines (by hash of machine id, sticky) the new version scores during this step, 1 to 99. After the last step the new version takes 100%.',
      minimum: 1,
      maximum: 99,
    }),
    pause: Duration(
      'How long the step lasts; every analysis interval in it must pass before the next step.',
      { default: '5m' },
    ),
  },
);

const Analysis = Obj(
  "Checks run every interval on the runtimes' telemetry while a new version is canary or shadow. A check fails when a limit is exceeded; failureLimit consecutive failures roll back.",
  {
    interval: Duration('Time between analyses.', { default: '1m' }),
    minSamples: Type.Integer({
      description:
        'Readings the new version must have scored in an interval before the interval counts (passes or fails).',
      minimum: 1,
      default: 500,
    }),
    maxErrorRate: Type.Number({
      description: "Largest allowed fraction of the new version's readings that ended in an error (0 to 1).",
      minimum: 0,
      maximum: 1,
      default: 0.01,
    }),
    maxP99LatencyMs: Type.Optional(
      Type.Number({
        description: '99th percentile scoring latency the new version may not exceed, in milliseconds.',
        minimum: 0,
      }),
    ),
    maxScoreDivergence: Type.Optional(
      Type.Number({
        description:
          'Largest allowed Kolmogorov-Smirnov distance (0 to 1) between the score distributions of the new and the stable version in an interval.',
        minimum: 0,
        maximum: 1,
      }),
    ),
    minShadowAgreement: Type.Optional(
      Type.Number({
        description:
          'Shadow only: smallest fraction (0 to 1) of readings, paired with the stable on the same reading, on which the two agree: the same severity (classification), the same anomaly flag (anomaly), or scores within shadowScoreTolerance (regression, else the same severity). Fewer than minSamples pairs in an interval is inconclusive.',
        minimum: 0,
        maximum: 1,
      }),
    ),
    shadowScoreTolerance: Type.Optional(
      Type.Number({
        description:
          'Shadow of a regression model only: the largest |score difference| (RUL units) from the stable that still counts as agreement, e.g. 10.',
        minimum: 0,
      }),
    ),
    failureLimit: Type.Integer({
      description: 'Consecutive failed analyses that abort the rollout and roll back to the stable version.',
      minimum: 1,
      maximum: 100,
      default: 3,
    }),
  },
  { default: {} },
);

const Rollout = Obj(
  'How a new version replaces the stable one. It starts when spec.model changes (the new model replaces the stable when the rollout completes) or when rollout.candidate is set (the candidate is evaluated beside spec.model and, once it passes, reported as promotable: promote it by moving it into spec.model). Canary: the new version scores a growing share of machines along steps. Shadow: it scores every reading beside the stable without publishing alerts, and is compared with it. Analysis failures roll back. Omitted: a new spec.model replaces the stable as soon as it is verified and ready.',
  {
    strategy: StringEnum(['Canary', 'Shadow'], {
      description:
        'Canary (weighted steps, needs steps) or Shadow (mirror, needs shadowDuration and no steps).',
      default: 'Canary',
    }),
    steps: Type.Optional(
      Type.Array(RolloutStep, {
        description:
          'Canary steps with strictly ascending weights in 1..99, e.g. [{weight: 10, pause: 5m}, {weight: 50, pause: 10m}]; 100% follows the last.',
        minItems: 1,
        maxItems: 10,
        'x-kubernetes-list-type': 'atomic',
        'x-kubernetes-validations': [
          rule(
            'self.map(s, s.weight).isSorted() && self.all(a, self.exists_one(b, b.weight == a.weight))',
            'rollout.steps weights must be strictly ascending',
          ),
        ],
      }),
    ),
    shadowDuration: Type.Optional(
      Duration(
        'Shadow only: how long the new version runs as shadow, passing every analysis, before it is promoted.',
      ),
    ),
    analysis: Analysis,
    progressDeadline: Duration(
      'How long the new version may take to have every pod ready (at the start, and again whenever it scales up). Past it the rollout rolls back.',
      { default: '10m' },
    ),
    candidate: Type.Optional(
      Artifact(
        'A version to evaluate beside spec.model (which stays stable) with this strategy. The operator never edits spec, so promotion is a person or a GitOps commit moving it into spec.model. Same fields as spec.model.',
      ),
    ),
  },
  {
    'x-kubernetes-validations': [
      rule("self.strategy != 'Canary' || has(self.steps)", 'strategy Canary needs steps', '.steps'),
      rule("self.strategy != 'Shadow' || !has(self.steps)", 'strategy Shadow takes no steps', '.steps'),
      rule(
        "self.strategy != 'Shadow' || has(self.shadowDuration)",
        'strategy Shadow needs shadowDuration',
        '.shadowDuration',
      ),
      rule(
        "self.strategy == 'Shadow' || !has(self.shadowDuration)",
        'shadowDuration is only for strategy Shadow',
        '.shadowDuration',
      ),
      rule(
        "self.strategy == 'Shadow' || !has(self.analysis.minShadowAgreement)",
        'analysis.minShadowAgreement is only for strategy Shadow',
        '.analysis',
      ),
      rule(
        "self.strategy == 'Shadow' || !has(self.analysis.shadowScoreTolerance)",
        'analysis.shadowScoreTolerance is only for strategy Shadow',
        '.analysis',
      ),
    ],
  },
);

const Explain = Obj(
  'Per-feature contributions published with every prediction (why a machine scored high).',
  {
    enabled: Type.Boolean({ description: 'Publish contributions with every prediction.', default: true }),
    method: StringEnum(['auto', 'exact', 'occlusion'], {
      description:
        'exact: closed-form contributions, for models whose ONNX metadata declares them linear. occlusion: each feature replaced by its baseline value, one extra model row per feature (costlier). auto: exact when the model allows it, occlusion otherwise.',
      default: 'auto',
    }),
    granularity: StringEnum(['feature', 'input'], {
      description:
        'feature: one contribution per sensor feature, covering every model input derived from it (vibration, vibration.mean, ...). input: one per model input (occlusion then costs one extra row per input rather than per feature).',
      default: 'feature',
    }),
  },
  { default: {} },
);

export const ALERTMANAGER_SECRET_KEYS = {
  token: 'token',
  username: 'username',
  password: 'password',
  ca: 'ca.crt',
} as const;

const Alerting = Obj(
  'Where the runtimes deliver machine alerts besides NATS (prognos.alerts.<ns>.<model>.<machine>).',
  {
    alertmanager: Obj(
      "An Alertmanager (API v2) that receives each machine's severity as an alert: labels alertname=PrognosMachineSeverity, namespace, model, machine and severity; annotations health_score, score, rul_cycles (regression), top_contributions and model_version. A return to ok resolves it. Routing to email, Slack or PagerDuty is Alertmanager's job (docs/alerting.md).",
      {
        url: Type.String({
          description:
            'Base URL of Alertmanager as the runtime pods reach it, e.g. http://alertmanager-operated.monitoring:9093; alerts are POSTed to <url>/api/v2/alerts.',
          pattern: '^https?://[^\\s]+$',
          maxLength: 2048,
        }),
        secretRef: Type.Optional(
          LocalObjectReference(
            "A Secret in the model's namespace with the credentials, mounted into the runtime pods: key token (a bearer token) or keys username and password (basic auth), and optionally ca.crt (PEM CA bundle trusted for an https:// url). The operator reads it (a missing or incomplete one is reported as AlertmanagerSecretInvalid) and watches it; a rotated token or password is picked up without a restart.",
            'Secret',
          ),
        ),
        refreshInterval: Duration(
          'How often firing alerts are sent again (endsAt is four intervals ahead, as Prometheus does, so Alertmanager resolves an alert on its own only after three missed refreshes).',
          { default: '1m' },
        ),
      },
    ),
  },
);

export const MaintenanceModelSpec = Obj(
  'Desired state of a MaintenanceModel: which fleet it scores, which artifact, how scores become severities, and how it is served and rolled out.',
  {
    fleetRef: LocalObjectReference('The SensorFleet whose readings this model scores.', 'SensorFleet'),
    task: StringEnum(TASKS, {
      description:
        'What the model predicts: classification (failure probability), regression (remaining useful life) or anomaly (the reconstruction error of an autoencoder, or a score output where higher is more anomalous). Decides how thresholds read.',
    }),
    model: Artifact(
      'The ONNX artifact to serve as the stable version. Changing it starts a rollout (see rollout).',
    ),
    thresholds: Thresholds,
    fallback: Type.Optional(Fallback),
    serving: Serving,
    rollout: Type.Optional(Rollout),
    explain: Explain,
    alerting: Type.Optional(Alerting),
  },
  {
    'x-kubernetes-validations': [
      rule(
        "self.task == 'regression' ? self.thresholds.critical < self.thresholds.warning : self.thresholds.warning < self.thresholds.critical",
        'thresholds.warning must be below thresholds.critical (for task regression, where the score is remaining useful life, critical must be below warning)',
        '.thresholds',
      ),
      rule(
        "self.task != 'classification' || self.thresholds.critical <= 1.0",
        'classification thresholds are probabilities and must lie in [0, 1]',
        '.thresholds',
      ),
      rule(
        '!has(self.rollout) || !has(self.rollout.candidate) || (self.rollout.candidate.version != self.model.version && self.rollout.candidate.sha256 != self.model.sha256)',
        'rollout.candidate must differ from spec.model in version and sha256',
        '.rollout',
      ),
    ],
  },
);
export type MaintenanceModelSpec = Static<typeof MaintenanceModelSpec>;

function Version<E extends Record<string, ReturnType<typeof Type.Integer>> = Record<never, never>>(
  description: string,
  extra?: E,
) {
  return Obj(description, {
    version: Type.String({ description: 'Version label of the artifact.' }),
    sha256: Type.String({ description: 'SHA-256 of the artifact.' }),
    since: Type.Optional(Timestamp('When this version took this role.')),
    ...((extra ?? {}) as E),
  });
}

const HistoryEntry = Obj('One past rollout event.', {
  version: Type.String({ description: 'Version the event is about.' }),
  sha256: Type.Optional(Type.String({ description: 'SHA-256 of that version.' })),
  event: StringEnum(['Deployed', 'Promoted', 'RolledBack', 'Aborted'], {
    description:
      'Deployed: served without a rollout. Promoted: a rollout completed. RolledBack: analysis failed and the stable was restored. Aborted: the rollout was replaced by a newer spec.',
  }),
  time: Timestamp('When it happened.'),
  message: Type.Optional(
    Type.String({ description: 'Why, e.g. which analysis limit was exceeded.', maxLength: 1024 }),
  ),
});

const AnalysisResult = Obj('One analysis interval of the version under rollout.', {
  time: Timestamp('When the interval ended.'),
  samples: Type.Integer({
    description: 'Readings the new version scored in the interval.',
    minimum: 0,
    format: 'int64',
  }),
  verdict: StringEnum(['Passed', 'Failed', 'Inconclusive'], {
    description:
      'Passed: every limit held on at least minSamples readings. Failed: a limit was exceeded. Inconclusive: fewer than minSamples readings, which neither passes nor fails.',
  }),
  consecutiveFailures: Type.Integer({ description: 'Failed intervals in a row so far.', minimum: 0 }),
  errorRate: Type.Optional(
    Type.Number({ description: "Observed fraction of the new version's readings that ended in an error." }),
  ),
  deadLetterRate: Type.Optional(
    Type.Number({ description: 'Observed fraction of readings the new version dead-lettered.' }),
  ),
  p99LatencyMs: Type.Optional(
    Type.Number({ description: 'Observed 99th percentile scoring latency in milliseconds.' }),
  ),
  scoreDivergence: Type.Optional(
    Type.Number({ description: 'Observed Kolmogorov-Smirnov distance of the scores to the stable.' }),
  ),
  shadowAgreement: Type.Optional(
    Type.Number({
      description: 'Shadow: observed fraction of paired readings on which it agreed with the stable.',
    }),
  ),
  message: Type.Optional(
    Type.String({
      description: 'Which limit failed (measured value and limit), when one did.',
      maxLength: 1024,
    }),
  ),
});

const ArtifactRef = (description: string) =>
  Obj(description, {
    version: Type.String({ description: 'Version label of the artifact.' }),
    uri: Type.String({ description: 'Where the artifact is.' }),
    sha256: Type.String({ description: 'SHA-256 of the artifact.' }),
  });

const RolloutStatus = Obj(
  'The rollout in progress: what it rolls out, where it is and the latest analyses. Level-based: the operator resumes from here after a restart.',
  {
    strategy: StringEnum(['Canary', 'Shadow'], { description: 'The strategy it runs with.' }),
    source: StringEnum(['Spec', 'Candidate', 'RetrainPolicy'], {
      description:
        'Spec: a new spec.model replaces the stable when it passes. Candidate: rollout.candidate is evaluated beside spec.model and reported as promotable. RetrainPolicy: a retrained candidate that passed the gate of a RetrainPolicy with promotion Auto replaces the stable when it passes (spec is not written).',
    }),
    policy: Type.Optional(
      Type.String({
        description: 'RetrainPolicy source: the policy whose candidate this is.',
        maxLength: 253,
      }),
    ),
    target: ArtifactRef('The version under rollout.'),
    stable: Obj(
      'The version the rollout started from: it scores the rest of the fleet, and all of it again after a rollback.',
      {
        version: Type.String({ description: 'Version label of the artifact.' }),
        uri: Type.String({ description: 'Where the artifact is.' }),
        sha256: Type.String({ description: 'SHA-256 of the artifact.' }),
        inputs: Type.Array(Type.String(), {
          description: 'Its model inputs, in order.',
          maxItems: 1024,
          'x-kubernetes-list-type': 'atomic',
        }),
        output: Type.Optional(Type.String({ description: 'The ONNX output it reads.' })),
      },
    ),
    startedAt: Timestamp('When the rollout started.'),
    step: Type.Integer({
      description:
        'Canary: index of the current step; equal to the number of steps once the new version takes 100%.',
      minimum: 0,
    }),
    stepStartedAt: Timestamp('When the current step (or the shadow run) started.'),
    weight: Type.Integer({
      description:
        'Percentage of the fleet the new version scores now (the partition grain of the stream, see docs/rollouts.md).',
      minimum: 0,
      maximum: 100,
    }),
    readySince: Type.Optional(Timestamp('When every pod of the new version was last seen ready.')),
    paused: Type.Optional(Type.Boolean({ description: 'Held by the pause annotation until resume.' })),
    results: Type.Optional(
      Type.Array(AnalysisResult, {
        description: 'Latest analysis intervals, newest first (at most 10).',
        maxItems: 10,
      }),
    ),
  },
);

const RolledBack = Obj(
  'The version that was last rolled back or aborted: it is not rolled out again until spec names another artifact or the retry annotation is set.',
  {
    version: Type.String({ description: 'Version label.' }),
    sha256: Type.String({ description: 'SHA-256 of the artifact.' }),
    time: Timestamp('When it was rolled back.'),
    reason: Type.String({ description: 'Why, as a CamelCase reason (e.g. AnalysisFailed).' }),
    message: Type.String({
      description: 'The failing check with its measured value and limit.',
      maxLength: 1024,
    }),
  },
);

export const MaintenanceModelStatus = Obj(
  'Observed state of a MaintenanceModel: what serves, what rolls out, and how it went.',
  {
    observedGeneration: Type.Optional(ObservedGeneration),
    conditions: Type.Optional(Conditions),
    phase: Type.Optional(
      StringEnum(PHASES, {
        description:
          'Stable: one version serves. Progressing: a canary or shadow is under analysis. Paused: a rollout waits (the pause annotation, or a candidate that passed and awaits promotion into spec.model). RollingBack: a rollout failed and the stable is being restored (the new version still has pods). RolledBack: the stable serves alone after a failed or aborted rollout of spec.model, which is not retried until spec changes or the retry annotation. Degraded: no verified model serves; fallback rules score readings.',
      }),
    ),
    stable: Type.Optional(Version('The version serving all machines not routed to a canary.')),
    canary: Type.Optional(
      Version('The version being rolled out as canary.', {
        weight: Type.Integer({
          description: 'Percentage of machines it currently scores.',
          minimum: 0,
          maximum: 100,
        }),
        step: Type.Integer({ description: 'Index of the current rollout step (0-based).', minimum: 0 }),
      }),
    ),
    shadow: Type.Optional(Version('The version running as shadow.')),
    analysis: Type.Optional(AnalysisResult),
    rollout: Type.Optional(RolloutStatus),
    rolledBack: Type.Optional(RolledBack),
    promotable: Type.Optional(
      ArtifactRef('A rollout.candidate that passed: put exactly this into spec.model to promote it.'),
    ),
    autoPromoted: Type.Optional(
      Obj(
        'The retrained candidate a RetrainPolicy with promotion Auto rolled out and promoted: it serves instead of spec.model while spec.model is still the artifact it replaced (over). A new spec.model rolls out over it as usual.',
        {
          policy: Type.String({ description: 'The RetrainPolicy.', maxLength: 253 }),
          version: Type.String({ description: 'Version label of the artifact.' }),
          uri: Type.String({ description: 'Where the artifact is.' }),
          sha256: Type.String({ description: 'SHA-256 of the artifact.' }),
          over: Type.String({ description: 'SHA-256 of the spec.model it replaced.' }),
          time: Timestamp('When it was promoted.'),
        },
      ),
    ),
    source: Type.Optional(
      Type.String({
        description:
          'Where the stable version came from, e.g. spec, or retrainpolicy/<name> (candidate <version>).',
        maxLength: 256,
      }),
    ),
    readyReplicas: Type.Optional(
      Type.Integer({ description: 'Runtime pods that are ready, across versions.', minimum: 0 }),
    ),
    endpoint: Type.Optional(
      Type.String({
        description: 'gRPC endpoint of the model inside the cluster, e.g. pump-failure.plant-a.svc:50051.',
      }),
    ),
    history: Type.Optional(
      Type.Array(HistoryEntry, {
        description: 'Latest rollout events, newest first (at most 20).',
        maxItems: 20,
      }),
    ),
  },
);
export type MaintenanceModelStatus = Static<typeof MaintenanceModelStatus>;

export const MaintenanceModel = Obj(
  'MaintenanceModel is an ONNX model (failure classifier, remaining-useful-life regressor or anomaly detector) bound to a SensorFleet. The operator runs it as NATS-fed inference runtimes that also serve gRPC, and rolls new versions out as canaries or shadows with automatic analysis and rollback.',
  {
    ...TypeMeta(MAINTENANCE_MODEL_KIND),
    spec: MaintenanceModelSpec,
    status: Type.Optional(MaintenanceModelStatus),
  },
);
export type MaintenanceModel = Static<typeof MaintenanceModel>;
