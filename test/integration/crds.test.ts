/**
 * The generated CRDs against the real API server: they install, the samples are accepted, invalid
 * objects are rejected by the OpenAPI and CEL rules with the offending field in the message, printer
 * columns show, and `kubectl explain` teaches. CEL is only ever evaluated here (never in unit tests).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { KINDS } from '../../operator/api/kinds.ts';
import { repoRoot } from '../../operator/api/generate.ts';
import { kubectl, type KubectlResult } from './env.ts';

const namespace = `crds-${Math.random().toString(36).slice(2, 8)}`;

type Json = Record<string, unknown> & { spec: Record<string, unknown> };

function sample(file: string): Json {
  return parse(readFileSync(join(repoRoot, 'config', 'samples', file), 'utf8')) as Json;
}

async function ok(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input === undefined ? {} : { input });
  expect(r.code, `kubectl ${args.join(' ')}:\n${r.stderr}`).toBe(0);
  return r.stdout;
}

/** Polls until `check` passes (discovery and OpenAPI publication of a new CRD lag a little). */
async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A server-side dry-run create, so defaulting, OpenAPI, CEL and strict field validation all run. */
function dryRunCreate(object: Json): Promise<KubectlResult> {
  return kubectl(
    ['create', '--dry-run=server', '--validate=strict', '-n', namespace, '-o', 'name', '-f', '-'],
    {
      input: JSON.stringify(object),
    },
  );
}

/** A deep copy of `base` with `change` applied to its spec. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the tables below edit arbitrary paths of parsed YAML
function variant(base: Json, change: (spec: Record<string, any>) => void): Json {
  const copy = structuredClone(base);
  change(copy.spec);
  return copy;
}

beforeAll(async () => {
  await ok(['apply', '--server-side', '-k', join(repoRoot, 'config', 'crd')]);
  await ok([
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    ...KINDS.map((k) => `crd/${k.plural}.prognos.dev`),
  ]);
  await ok(['create', 'namespace', namespace]);
  await eventually(
    'the prognos category in discovery',
    async () => (await kubectl(['get', 'prognos', '-n', namespace])).code === 0,
  );
});

afterAll(async () => {
  await kubectl(['delete', 'namespace', namespace, '--wait=false']);
});

describe('CRDs', () => {
  it('install cleanly with every CEL rule within the cost budget (Established, no warnings)', async () => {
    for (const kind of KINDS) {
      const crd = JSON.parse(await ok(['get', `crd/${kind.plural}.prognos.dev`, '-o', 'json'])) as {
        status: { conditions: { type: string; status: string; message: string }[] };
      };
      const byType = Object.fromEntries(crd.status.conditions.map((c) => [c.type, c]));
      expect(byType['Established']?.status, kind.kind).toBe('True');
      expect(byType['NonStructuralSchema'], kind.kind).toBeUndefined();
    }
  });

  it('accept every sample, which `kubectl get prognos` then lists', async () => {
    await ok(['apply', '--server-side', '-n', namespace, '-k', join(repoRoot, 'config', 'samples')]);
    const listed = await ok(['get', 'prognos', '-n', namespace, '-o', 'name']);
    for (const name of [
      'sensorfleet.prognos.dev/pumps',
      'sensorfleet.prognos.dev/turbofans',
      'maintenancemodel.prognos.dev/pump-failure',
      'maintenancemodel.prognos.dev/turbofan-rul',
      'retrainpolicy.prognos.dev/pump-failure',
    ]) {
      expect(listed).toContain(name);
    }
  });

  it('apply defaults the writer left out', async () => {
    const model = JSON.parse(await ok(['get', 'mm/turbofan-rul', '-n', namespace, '-o', 'json'])) as Json;
    expect(model.spec['serving']).toMatchObject({
      batching: { maxBatch: 256, maxDelayMs: 5 },
      grpc: { port: 50051, mutualTLS: false },
      onnxRuntime: { intraOpThreads: 1, interOpThreads: 1 },
    });
    expect(model.spec['thresholds']).toMatchObject({ hysteresis: 0.05 });
    const fleet = JSON.parse(await ok(['get', 'sf/turbofans', '-n', namespace, '-o', 'json'])) as Json;
    expect(fleet.spec['deletionPolicy']).toBe('Retain');
    expect(fleet.spec['stream']).toMatchObject({ partitions: 1, storage: 'File' });
    const policy = JSON.parse(await ok(['get', 'rp/pump-failure', '-n', namespace, '-o', 'json'])) as Json;
    expect(policy.spec['training']).toMatchObject({ backoffLimit: 1 });
  });
});

const pumps = sample('sensorfleet-pumps.yaml');
const pumpModel = sample('maintenancemodel-pump-failure.yaml');
const rulModel = sample('maintenancemodel-turbofan-rul.yaml');
const policy = sample('retrainpolicy-pump-failure.yaml');

/** [what is wrong, object, text the error must contain (the field path, and the rule's message when CEL)]. */
type Invalid = [string, Json, string[]];

const invalidFleets: Invalid[] = [
  [
    'machineId with both ways',
    variant(pumps, (s) => (s.machineId.field = 'id')),
    ['spec.machineId', 'exactly one'],
  ],
  [
    'machineId with neither way',
    variant(pumps, (s) => (s.machineId = {})),
    ['spec.machineId', 'exactly one'],
  ],
  [
    'a window on an undeclared feature',
    variant(pumps, (s) => s.windows.push({ feature: 'pressure', aggregations: ['mean'] })),
    ['spec.windows', 'must be declared in schema.features'],
  ],
  [
    'a feature with min above max',
    variant(pumps, (s) => Object.assign(s.schema.features[0], { min: 10, max: 5 })),
    ['spec.schema.features[0]', 'min must be less than max'],
  ],
  [
    'a duplicate feature name',
    variant(pumps, (s) => s.schema.features.push({ name: 'vibration' })),
    ['spec.schema.features[6]', 'Duplicate value'],
  ],
  [
    'a subject with a space',
    variant(pumps, (s) => (s.subject = 'plant a.pumps.*')),
    ['spec.subject', 'NATS subject'],
  ],
  [
    "a '>' that is not last",
    variant(pumps, (s) => (s.subject = 'plant-a.>.readings')),
    ['spec.subject', 'NATS subject'],
  ],
  [
    'a subjectToken on a literal token',
    variant(pumps, (s) => (s.machineId.subjectToken = 2)),
    ['spec.machineId', "must point at a '*' token"],
  ],
  [
    'partitions without a subject token',
    variant(pumps, (s) => (s.machineId = { field: 'machine_id' })),
    ['spec.stream', 'partitions > 1 needs machineId.subjectToken'],
  ],
  [
    'an http NATS url',
    variant(pumps, (s) => (s.nats.url = 'http://nats:4222')),
    ['spec.nats.url', 'nats://'],
  ],
  ['six stream replicas', variant(pumps, (s) => (s.stream.replicas = 6)), ['spec.stream.replicas']],
  ['a duration in words', variant(pumps, (s) => (s.stream.maxAge = '7 days')), ['spec.stream.maxAge']],
  [
    'an unknown aggregation',
    variant(pumps, (s) => (s.windows[0].aggregations = ['p99'])),
    ['spec.windows[0].aggregations[0]', 'Unsupported value'],
  ],
  [
    'two windows over one feature with one name',
    variant(pumps, (s) => s.windows.push({ ...s.windows[0], aggregations: ['max'] })),
    ['spec.windows[5]', 'Duplicate value'],
  ],
  [
    'a window duration in words',
    variant(pumps, (s) => (s.windows[0].duration = 'an hour')),
    ['spec.windows[0].duration'],
  ],
  [
    'a window name with capitals',
    variant(pumps, (s) => (s.windows[0].name = 'OneHour')),
    ['spec.windows[0].name'],
  ],
  [
    'an unknown deletionPolicy',
    variant(pumps, (s) => (s.deletionPolicy = 'Orphan')),
    ['spec.deletionPolicy'],
  ],
];

const invalidModels: Invalid[] = [
  [
    'warning above critical',
    variant(pumpModel, (s) => (s.thresholds = { warning: 0.9, critical: 0.5 })),
    ['spec.thresholds', 'thresholds.warning must be below thresholds.critical'],
  ],
  [
    'a RUL critical above warning',
    variant(rulModel, (s) => (s.thresholds = { warning: 20, critical: 50 })),
    ['spec.thresholds', 'critical must be below warning'],
  ],
  [
    'a classification threshold above 1',
    variant(pumpModel, (s) => (s.thresholds = { warning: 0.5, critical: 1.5 })),
    ['spec.thresholds', 'probabilities'],
  ],
  [
    'an uppercase sha256',
    variant(pumpModel, (s) => (s.model.sha256 = 'A'.repeat(64))),
    ['spec.model.sha256'],
  ],
  ['a short sha256', variant(pumpModel, (s) => (s.model.sha256 = 'abc123')), ['spec.model.sha256']],
  [
    'an s3 uri',
    variant(pumpModel, (s) => (s.model.uri = 's3://models/pump.onnx')),
    ['spec.model.uri', 'uri must start with file://, https://, nats-os://'],
  ],
  [
    'a nats-os uri without an object',
    variant(pumpModel, (s) => (s.model.uri = 'nats-os://prognos-models')),
    ['spec.model.uri', 'nats-os://<bucket>/<object>'],
  ],
  [
    'an input with an unknown aggregation',
    variant(pumpModel, (s) => (s.model.inputs[0] = 'vibration.p99')),
    ['spec.model.inputs[0]'],
  ],
  [
    'a step weight of 100',
    variant(pumpModel, (s) => (s.rollout.steps[1].weight = 100)),
    ['spec.rollout.steps[1].weight', 'less than or equal to 99'],
  ],
  [
    'a step weight of 0',
    variant(pumpModel, (s) => (s.rollout.steps[0].weight = 0)),
    ['spec.rollout.steps[0].weight', 'greater than or equal to 1'],
  ],
  [
    'descending step weights',
    variant(pumpModel, (s) => (s.rollout.steps = [{ weight: 50 }, { weight: 10 }])),
    ['spec.rollout.steps', 'strictly ascending'],
  ],
  [
    'repeated step weights',
    variant(pumpModel, (s) => (s.rollout.steps = [{ weight: 20 }, { weight: 20 }])),
    ['spec.rollout.steps', 'strictly ascending'],
  ],
  [
    'Canary without steps',
    variant(pumpModel, (s) => delete s.rollout.steps),
    ['spec.rollout.steps', 'strategy Canary needs steps'],
  ],
  [
    'Shadow with steps',
    variant(rulModel, (s) => (s.rollout.steps = [{ weight: 10 }])),
    ['spec.rollout.steps', 'strategy Shadow takes no steps'],
  ],
  [
    'Shadow without a duration',
    variant(rulModel, (s) => delete s.rollout.shadowDuration),
    ['spec.rollout.shadowDuration', 'strategy Shadow needs shadowDuration'],
  ],
  [
    'a candidate equal to the stable',
    variant(rulModel, (s) => (s.rollout.candidate = { ...s.model })),
    ['spec.rollout', 'must differ from spec.model'],
  ],
  [
    'a fallback rule with above and below',
    variant(pumpModel, (s) => Object.assign(s.fallback.rules[0], { below: 1 })),
    ['spec.fallback.rules[0]', 'exactly one of above or below'],
  ],
  [
    'mTLS without a certificate',
    variant(pumpModel, (s) => (s.serving.grpc = { mutualTLS: true })),
    ['spec.serving.grpc', 'grpc.mutualTLS needs grpc.tlsSecretRef'],
  ],
  [
    'JWT auth with both a JWKS Secret and a JWKS URL',
    variant(pumpModel, (s) => (s.serving.grpc.auth.jwt.jwksURL = 'https://idp.example.com/jwks')),
    ['spec.serving.grpc.auth.jwt', 'exactly one of jwksSecretRef or jwksURL'],
  ],
  [
    'JWT auth without a JWKS',
    variant(pumpModel, (s) => delete s.serving.grpc.auth.jwt.jwksSecretRef),
    ['spec.serving.grpc.auth.jwt', 'exactly one of jwksSecretRef or jwksURL'],
  ],
  [
    'a JWKS URL over plain HTTP',
    variant(pumpModel, (s) => {
      delete s.serving.grpc.auth.jwt.jwksSecretRef;
      s.serving.grpc.auth.jwt.jwksURL = 'http://idp.example.com/jwks';
    }),
    ['spec.serving.grpc.auth.jwt.jwksURL'],
  ],
  [
    'JWT auth without an audience',
    variant(pumpModel, (s) => (s.serving.grpc.auth.jwt.audiences = [])),
    ['spec.serving.grpc.auth.jwt.audiences'],
  ],
  [
    'a rate limit of zero calls per second',
    variant(pumpModel, (s) => (s.serving.grpc.rateLimit.requestsPerSecond = 0)),
    ['spec.serving.grpc.rateLimit.requestsPerSecond'],
  ],
  [
    'an Alertmanager URL that is not http(s)',
    variant(pumpModel, (s) => (s.alerting = { alertmanager: { url: 'alertmanager:9093' } })),
    ['spec.alerting.alertmanager.url'],
  ],
  [
    'an Alertmanager refresh interval that is not a duration',
    variant(
      pumpModel,
      (s) => (s.alerting = { alertmanager: { url: 'http://am:9093', refreshInterval: '1 minute' } }),
    ),
    ['spec.alerting.alertmanager.refreshInterval'],
  ],
  ['an unknown task', variant(pumpModel, (s) => (s.task = 'forecast')), ['spec.task', 'Unsupported value']],
  ['an unknown field', variant(pumpModel, (s) => (s.replicas = 2)), ['unknown field "spec.replicas"']],
];

const invalidPolicies: Invalid[] = [
  [
    'no trigger',
    variant(policy, (s) => (s.triggers = {})),
    ['spec.triggers', 'at least one of drift, performance or schedule'],
  ],
  [
    'a schedule that is not cron',
    variant(policy, (s) => (s.triggers.schedule = 'every sunday')),
    ['spec.triggers.schedule', 'five cron fields'],
  ],
  [
    'an F1 threshold above 1',
    variant(policy, (s) => (s.triggers.performance.threshold = 1.5)),
    ['spec.triggers.performance', 'must lie in [0, 1]'],
  ],
  [
    'a KS threshold above 1',
    variant(policy, (s) => Object.assign(s.triggers.drift, { method: 'ks', threshold: 2 })),
    ['spec.triggers.drift', 'ks drift threshold'],
  ],
  [
    'a zero drift threshold',
    variant(policy, (s) => (s.triggers.drift.threshold = 0)),
    ['spec.triggers.drift.threshold'],
  ],
  [
    'an improvement without beating the stable',
    variant(policy, (s) => (s.evaluation.mustBeatStable = false)),
    ['spec.evaluation', 'minImprovement needs mustBeatStable'],
  ],
  [
    'an unknown promotion',
    variant(policy, (s) => (s.promotion = 'Sometimes')),
    ['spec.promotion', 'Unsupported value'],
  ],
  ['a cooldown in words', variant(policy, (s) => (s.cooldown = 'soon')), ['spec.cooldown']],
  ['an unknown metric', variant(policy, (s) => (s.evaluation.metric = 'auc')), ['spec.evaluation.metric']],
];

describe.each([
  ['SensorFleet', pumps, invalidFleets],
  ['MaintenanceModel', pumpModel, invalidModels],
  ['RetrainPolicy', policy, invalidPolicies],
] as const)('%s validation', (_kind, base, table) => {
  it('accepts the unchanged sample (so each rejection below is the change alone)', async () => {
    const r = await dryRunCreate({ ...base, metadata: { name: 'valid' } });
    expect(r.code, r.stderr).toBe(0);
  });

  it.each(table)('rejects %s', async (_what, object, expected) => {
    const r = await dryRunCreate({ ...object, metadata: { name: 'invalid' } });
    expect(r.code, `accepted: ${JSON.stringify(object.spec)}`).not.toBe(0);
    for (const text of expected) expect(r.stderr).toContain(text);
  });
});

describe('transition rules', () => {
  it('keep a fleet stream name once set', async () => {
    const fleet = variant(pumps, (s) => (s.stream.name = 'PUMPS'));
    await ok(
      ['create', '-n', namespace, '-f', '-'],
      JSON.stringify({ ...fleet, metadata: { name: 'named-stream' } }),
    );
    const renamed = await kubectl([
      'patch',
      '-n',
      namespace,
      'sf/named-stream',
      '--type=merge',
      '-p',
      '{"spec":{"stream":{"name":"PUMPS2"}}}',
    ]);
    expect(renamed.code).not.toBe(0);
    expect(renamed.stderr).toContain('stream.name is immutable');
    const removed = await kubectl([
      'patch',
      '-n',
      namespace,
      'sf/named-stream',
      '--type=json',
      '-p',
      '[{"op":"remove","path":"/spec/stream/name"}]',
    ]);
    expect(removed.code).not.toBe(0);
    expect(removed.stderr).toContain('cannot be added or removed');
  });
});

function patchStatus(resource: string, status: unknown): Promise<string> {
  return ok([
    'patch',
    '-n',
    namespace,
    resource,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status }),
  ]);
}

const readyCondition = {
  type: 'Ready',
  status: 'True',
  reason: 'Serving',
  message: 'all good',
  lastTransitionTime: '2025-11-22T08:00:00Z',
};

/** `kubectl get` output as {COLUMN: value} for one row. */
async function columns(resource: string): Promise<Record<string, string>> {
  const [header, row] = (await ok(['get', '-n', namespace, resource])).trim().split('\n');
  // Columns are separated by runs of 3+ spaces; values such as "Last Drift" hold single spaces.
  const names = header!.split(/\s{3,}/);
  const values = row!.split(/\s{3,}/);
  return Object.fromEntries(names.map((n, i) => [n, values[i] ?? '']));
}

describe('printer columns', () => {
  it('show a model rollout at a glance', async () => {
    await patchStatus('mm/pump-failure', {
      phase: 'Progressing',
      stable: { version: 'v3', sha256: 'a'.repeat(64) },
      canary: { version: 'v4', sha256: 'b'.repeat(64), weight: 10, step: 0 },
      readyReplicas: 3,
      conditions: [readyCondition],
    });
    expect(await columns('mm/pump-failure')).toMatchObject({
      NAME: 'pump-failure',
      FLEET: 'pumps',
      TASK: 'classification',
      STABLE: 'v3',
      CANARY: 'v4',
      WEIGHT: '10',
      PHASE: 'Progressing',
      READY: 'True',
    });
  });

  it('show what a fleet is sending', async () => {
    await patchStatus('sf/pumps', {
      machinesSeen: 42,
      readingsPerSecond: 41.5,
      conditions: [readyCondition],
    });
    expect(await columns('sf/pumps')).toMatchObject({
      SUBJECT: 'plant-a.pumps.*.readings',
      MACHINES: '42',
      RATE: '41.5',
      READY: 'True',
    });
  });

  it('show a policy and its training job', async () => {
    await patchStatus('rp/pump-failure', {
      activeJob: { name: 'pump-failure-retrain-1', startTime: '2025-11-22T08:00:00Z', trigger: 'Drift' },
      lastDrift: { score: 0.31, feature: 'vibration.rms', time: '2025-11-22T07:59:00Z' },
    });
    const row = await columns('rp/pump-failure');
    expect(row).toMatchObject({
      MODEL: 'pump-failure',
      'ACTIVE JOB': 'pump-failure-retrain-1',
      PROMOTION: 'Manual',
    });
    expect(row['LAST DRIFT']).toMatch(/^\d+[smhd]/);
  });
});

describe('kubectl explain', () => {
  it('teaches spec.rollout to a newcomer', async () => {
    let out = '';
    await eventually('the CRD OpenAPI to be published', async () => {
      const r = await kubectl(['explain', 'maintenancemodel.spec.rollout']);
      out = r.stdout;
      return r.code === 0 && out.includes('analysis');
    });
    expect(out).toContain('How a new version replaces the stable one');
    for (const field of ['strategy', 'steps', 'analysis', 'candidate', 'shadowDuration'])
      expect(out).toContain(field);
    const steps = await ok(['explain', 'maintenancemodel.spec.rollout.steps.weight']);
    expect(steps).toContain('Percentage of machines');
  });

  it('describes every kind at the top', async () => {
    for (const [kind, text] of [
      ['sensorfleet', 'fleet of machines'],
      ['maintenancemodel', 'ONNX model'],
      ['retrainpolicy', 'retrains a MaintenanceModel'],
    ]) {
      expect(await ok(['explain', kind!])).toContain(text!);
    }
  });
});
