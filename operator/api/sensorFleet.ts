/** SensorFleet: machines whose sensor readings arrive on NATS, and the JetStream layout that holds them. */
import { Type, type Static } from '@sinclair/typebox';
import {
  Conditions,
  Duration,
  LocalObjectReference,
  Obj,
  ObservedGeneration,
  SecretKeySelector,
  StringEnum,
  Timestamp,
  TypeMeta,
  rule,
} from './meta.ts';
import { AGGREGATIONS, FEATURE_NAME_PATTERN, WINDOW_NAME_PATTERN } from '../../contracts/modelInputs.ts';

export const SENSOR_FLEET_KIND = 'SensorFleet';
export const SENSOR_FLEET_PLURAL = 'sensorfleets';

// The API offers exactly the window aggregations and names the inference runtime reads; one list for both.
export { AGGREGATIONS, FEATURE_NAME_PATTERN, type Aggregation } from '../../contracts/modelInputs.ts';

/**
 * A NATS subject: dot-separated tokens without whitespace, `*` matching one token, `>` only last.
 * Used in CEL (RE2), where it gives a readable message instead of a raw pattern mismatch.
 */
export const NATS_SUBJECT_REGEX = '^([^.*>\\s]+|\\*)(\\.([^.*>\\s]+|\\*))*(\\.>)?$|^>$';

function subjectRules(field: string) {
  return [
    rule(
      `self.matches('${NATS_SUBJECT_REGEX.replaceAll('\\', '\\\\')}')`,
      `${field} must be a NATS subject: dot-separated tokens without spaces, '*' for one whole token, '>' only as the last token`,
    ),
  ];
}

function Subject(description: string, field: string) {
  return Type.String({
    description,
    minLength: 1,
    maxLength: 255,
    'x-kubernetes-validations': subjectRules(field),
  });
}

const NatsConnection = Obj(
  'How the operator and the inference runtimes connect to the NATS server that carries this fleet.',
  {
    url: Type.String({
      description:
        'NATS server URL, e.g. nats://nats.nats.svc:4222; several may be given comma-separated for a cluster. tls:// requires TLS.',
      minLength: 1,
      maxLength: 512,
      'x-kubernetes-validations': [
        rule(
          "self.split(',').all(u, u.matches('^(nats|tls)://[^\\\\s/]+$'))",
          'nats.url must be one or more comma-separated nats://host:port or tls://host:port URLs',
        ),
      ],
    }),
    credentialsSecretRef: Type.Optional(
      SecretKeySelector(
        'Secret key holding a NATS credentials file (JWT and NKey seed, as written by `nsc`). Omitted: connect without credentials.',
        'nats.creds',
        'Key of the credentials file in the Secret.',
      ),
    ),
    tlsSecretRef: Type.Optional(
      LocalObjectReference(
        'Secret with TLS material for NATS: ca.crt to verify the server and, for mutual TLS, tls.crt and tls.key. Omitted: the system trust store, no client certificate.',
        'Secret',
      ),
    ),
    monitoringEndpoint: Type.Optional(
      Type.String({
        description:
          "host:port of the NATS server's HTTP monitoring endpoint (usually port 8222), e.g. nats.nats.svc:8222. KEDA's NATS JetStream scaler reads consumer lag there when a model autoscales.",
        minLength: 1,
        maxLength: 253,
        pattern: '^[^\\s/:]+:[0-9]{1,5}$',
      }),
    ),
  },
);

const MachineId = Obj(
  'Where a reading says which machine it came from: exactly one of subjectToken or field.',
  {
    subjectToken: Type.Optional(
      Type.Integer({
        description:
          "1-based position of the subject token holding the machine id; it must be a '*' token of spec.subject (or lie under a trailing '>'). E.g. 3 for plant-a.pumps.*.readings.",
        minimum: 1,
        maximum: 32,
      }),
    ),
    field: Type.Optional(
      Type.String({
        description: 'JSON field of the reading holding the machine id, e.g. machine_id.',
        minLength: 1,
        maxLength: 63,
        pattern: '^[A-Za-z_][A-Za-z0-9_]*$',
      }),
    ),
  },
  {
    'x-kubernetes-validations': [
      rule(
        'has(self.subjectToken) != has(self.field)',
        'machineId needs exactly one of subjectToken or field',
      ),
    ],
  },
);

const Stream = Obj(
  "The JetStream stream that stores the fleet's readings. The operator creates and owns it (plus a dead-letter stream), and updates it when this changes.",
  {
    name: Type.Optional(
      Type.String({
        description:
          'Stream name. Omitted: PROGNOS_<namespace>_<fleet> (upper-cased, invalid characters as _). Cannot be changed, added or removed after creation: renaming would orphan the stored readings.',
        minLength: 1,
        maxLength: 64,
        pattern: '^[^.*>\\s/\\\\]+$',
        'x-kubernetes-validations': [rule('self == oldSelf', 'stream.name is immutable')],
      }),
    ),
    maxAge: Duration('How long readings are kept, e.g. 7d. Retraining reads its data window from here.', {
      default: '7d',
    }),
    maxBytes: Type.Optional(
      Type.Integer({
        description:
          'Size limit of the stream in bytes; the oldest readings are discarded first. Omitted: unlimited.',
        minimum: 1,
        format: 'int64',
      }),
    ),
    replicas: Type.Integer({
      description: 'JetStream replicas of the stream (1 to 5; 3 survives the loss of one NATS server).',
      minimum: 1,
      maximum: 5,
      default: 1,
    }),
    partitions: Type.Integer({
      description:
        "Number of partitions: a subject mapping hashes machineId.subjectToken into this many partition subjects, so each machine's readings always reach the same consumer (its windows stay in one place) while load spreads. 1 means no partitioning.",
      minimum: 1,
      maximum: 64,
      default: 1,
    }),
    storage: StringEnum(['File', 'Memory'], {
      description: 'Where JetStream keeps the readings: File (survives restarts) or Memory.',
      default: 'File',
    }),
  },
  {
    default: {},
    'x-kubernetes-validations': [
      rule('has(oldSelf.name) == has(self.name)', 'stream.name cannot be added or removed after creation'),
    ],
  },
);

const Feature = Obj(
  'One numeric sensor value carried by every reading.',
  {
    name: Type.String({
      description:
        'JSON key of the value in a reading, e.g. vibration. Letters, digits and _, not starting with a digit.',
      minLength: 1,
      maxLength: 63,
      pattern: FEATURE_NAME_PATTERN,
    }),
    unit: Type.Optional(
      Type.String({ description: 'Unit, for people and dashboards, e.g. mm/s or degC.', maxLength: 32 }),
    ),
    min: Type.Optional(
      Type.Number({
        description: 'Smallest plausible value; a reading below it is dead-lettered (reason out_of_range).',
      }),
    ),
    max: Type.Optional(
      Type.Number({
        description: 'Largest plausible value; a reading above it is dead-lettered (reason out_of_range).',
      }),
    ),
    required: Type.Boolean({
      description:
        'Whether every reading must carry this value. A reading without a required value is dead-lettered; an optional value that is missing leaves its window unchanged and the model sees the last known value.',
      default: true,
    }),
  },
  {
    'x-kubernetes-validations': [
      rule('!has(self.min) || !has(self.max) || self.min < self.max', 'feature min must be less than max'),
    ],
  },
);

const ReadingSchema = Obj(
  'The shape of a reading (a JSON object); anything else is dead-lettered with a reason.',
  {
    timestampField: Type.String({
      description: "JSON key of the reading's timestamp.",
      default: 'ts',
      minLength: 1,
      maxLength: 63,
      pattern: FEATURE_NAME_PATTERN,
    }),
    timestampFormat: StringEnum(['RFC3339', 'UnixMillis', 'UnixSeconds'], {
      description:
        'How the timestamp is written: an RFC 3339 string, or a number of milliseconds or seconds since the Unix epoch.',
      default: 'RFC3339',
    }),
    features: Type.Array(Feature, {
      description: 'The numeric values of a reading. Model inputs and windows refer to them by name.',
      minItems: 1,
      maxItems: 128,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
    }),
    maxMessageBytes: Type.Integer({
      description: 'Largest accepted reading in bytes; larger messages are dead-lettered unparsed.',
      minimum: 64,
      maximum: 1048576,
      default: 4096,
    }),
    maxFutureSkew: Duration(
      'How far in the future a timestamp may be (clock skew between machines and the cluster); later readings are dead-lettered.',
      { default: '5m' },
    ),
  },
);

const Window = Obj(
  'A sliding window over the readings of each machine for one feature, by count (the last size readings) or by time (duration), and the aggregations computed on it. A model reads an aggregation as input <feature>.<aggregation>, e.g. vibration.rms, or <feature>.<aggregation>@<name> when the feature has several windows, e.g. vibration.rms@1h.',
  {
    feature: Type.String({
      description: 'Name of a feature declared in spec.schema.features.',
      minLength: 1,
      maxLength: 63,
      pattern: FEATURE_NAME_PATTERN,
    }),
    name: Type.String({
      description:
        'Tells windows over the same feature apart, e.g. 5m and 1h; inputs name it after @ (vibration.rms@1h). The window named default is also read without a name.',
      minLength: 1,
      maxLength: 63,
      pattern: WINDOW_NAME_PATTERN,
      default: 'default',
    }),
    size: Type.Integer({
      description:
        'Number of most recent readings of the machine in the window; for a window with a duration, the most it keeps (older readings of the span are dropped first).',
      minimum: 2,
      maximum: 10000,
      default: 60,
    }),
    duration: Type.Optional(
      Duration(
        'A time window: the readings whose timestamp lies within this span of the machine newest reading, e.g. 5m or 1h (at most size of them). Without it the window is the last size readings.',
      ),
    ),
    aggregations: Type.Array(
      StringEnum(AGGREGATIONS, {
        description: 'An aggregation over the window.',
      }),
      {
        description:
          "Aggregations computed over the window: mean, std (standard deviation), min, max, rms (root mean square), kurtosis (peakedness, bearing faults), slope (least-squares trend per reading), count_since_maintenance (readings since the machine's last maintenance label).",
        minItems: 1,
        maxItems: 8,
        'x-kubernetes-list-type': 'set',
      },
    ),
  },
);

const Labels = Obj(
  "Where maintenance events (failures, repairs) for the fleet's machines arrive. They become labels for supervised retraining and reset count_since_maintenance.",
  {
    subject: Subject(
      'NATS subject of maintenance events, e.g. plant-a.pumps.*.events; the machine id is found as for readings (spec.machineId).',
      'labels.subject',
    ),
  },
);

export const SensorFleetSpec = Obj(
  'Desired state of a SensorFleet: where its readings arrive, what they contain and how they are kept.',
  {
    nats: NatsConnection,
    subject: Subject(
      "NATS subject (wildcards allowed) on which the fleet's readings arrive, e.g. plant-a.pumps.*.readings.",
      'subject',
    ),
    machineId: MachineId,
    stream: Stream,
    schema: ReadingSchema,
    windows: Type.Optional(
      Type.Array(Window, {
        description:
          'Sliding windows computed per machine; a feature may have several, with distinct names (rms over 5m and over 1h).',
        maxItems: 128,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['feature', 'name'],
      }),
    ),
    labels: Type.Optional(Labels),
    deletionPolicy: StringEnum(['Retain', 'Delete'], {
      description:
        'What happens to the JetStream streams when the SensorFleet is deleted: Retain keeps them (and the readings), Delete removes them.',
      default: 'Retain',
    }),
  },
  {
    'x-kubernetes-validations': [
      rule(
        '!has(self.windows) || self.windows.all(w, self.schema.features.exists(f, f.name == w.feature))',
        'every windows[].feature must be declared in schema.features',
        '.windows',
      ),
      rule(
        "!has(self.machineId.subjectToken) || (self.subject.split('.').size() >= self.machineId.subjectToken ? self.subject.split('.')[self.machineId.subjectToken - 1] == '*' : self.subject.endsWith('>'))",
        "machineId.subjectToken must point at a '*' token of subject, or lie under its trailing '>'",
        '.machineId',
      ),
      rule(
        'self.stream.partitions == 1 || has(self.machineId.subjectToken)',
        'stream.partitions > 1 needs machineId.subjectToken: NATS partitions by hashing a subject token',
        '.stream',
      ),
    ],
  },
);
export type SensorFleetSpec = Static<typeof SensorFleetSpec>;

export const SensorFleetStatus = Obj(
  "Observed state of a SensorFleet, from the streams and the runtimes' telemetry.",
  {
    observedGeneration: Type.Optional(ObservedGeneration),
    conditions: Type.Optional(Conditions),
    machinesSeen: Type.Optional(
      Type.Integer({
        description: "Distinct machines that sent a reading within the stream's max age.",
        minimum: 0,
        format: 'int64',
      }),
    ),
    readingsPerSecond: Type.Optional(
      Type.Number({
        description: 'Readings accepted per second, averaged over the last minute.',
        minimum: 0,
      }),
    ),
    deadLettersPerSecond: Type.Optional(
      Type.Number({
        description:
          'Readings rejected to the dead-letter subject per second, averaged over the last minute.',
        minimum: 0,
      }),
    ),
    lastReadingTime: Type.Optional(Timestamp('Timestamp of the newest accepted reading.')),
    stream: Type.Optional(
      Obj('The JetStream streams the operator manages for the fleet.', {
        name: Type.String({ description: 'Name of the readings stream.' }),
        deadLetterStream: Type.Optional(Type.String({ description: 'Name of the dead-letter stream.' })),
        messages: Type.Optional(
          Type.Integer({ description: 'Readings stored in the stream.', minimum: 0, format: 'int64' }),
        ),
        bytes: Type.Optional(
          Type.Integer({ description: 'Bytes stored in the stream.', minimum: 0, format: 'int64' }),
        ),
      }),
    ),
  },
);
export type SensorFleetStatus = Static<typeof SensorFleetStatus>;

export const SensorFleet = Obj(
  'SensorFleet is a fleet of machines whose sensor readings arrive on NATS. The operator ensures the JetStream streams, dead-letter stream and label subjects, and reports what the fleet is sending.',
  {
    ...TypeMeta(SENSOR_FLEET_KIND),
    spec: SensorFleetSpec,
    status: Type.Optional(SensorFleetStatus),
  },
);
export type SensorFleet = Static<typeof SensorFleet>;
