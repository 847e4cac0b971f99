// Shared pieces of the operator integration tests: the CRDs installed once, the operator run
// in-process against the test cluster, a namespace per test file, real ONNX files, manifests and polling.
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createUser } from '@nats-io/nkeys';
import { pino } from 'pino';
import { expect } from 'vitest';
import { PrognosOperator } from '../../operator/prognosOperator.ts';
import { buildMlpClassifier, randomLayers } from '../../contracts/onnx/buildModel.ts';
import { kubeConfig, kubectl, testEnv } from './env.ts';

export const REPO = join(import.meta.dirname, '..', '..');

export async function ok(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input === undefined ? {} : { input });
  expect(r.code, `kubectl ${args.join(' ')}:\n${r.stderr}`).toBe(0);
  return r.stdout;
}

/** Polls until `check` returns a value (not undefined/false), or fails naming what it waited for. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

export async function installCrds(): Promise<void> {
  await ok(['apply', '--server-side', '-k', join(REPO, 'config', 'crd')]);
  await waitEstablished('crd/sensorfleets.prognos.dev', 'crd/maintenancemodels.prognos.dev');
}

/**
 * Waits until the CRDs are Established. `kubectl wait` fails at once on a CRD so new that it has no
 * status.conditions yet, so it is retried.
 */
export async function waitEstablished(...crds: string[]): Promise<void> {
  await eventually(`${crds.join(', ')} Established`, async () => {
    const r = await kubectl(['wait', '--for=condition=Established', '--timeout=30s', ...crds]);
    return r.code === 0;
  });
}

/**
 * Deletes a test file's namespace once its operator has stopped. The operator's finalizers would hold
 * the namespace in Terminating for good, and a backlog of those slows the namespace controller for
 * every later file, so they are dropped first (the file's NATS streams stay; their names are unique).
 */
export async function deleteNamespace(ns: string): Promise<void> {
  for (const kind of ['maintenancemodels.prognos.dev', 'sensorfleets.prognos.dev']) {
    const names = (await kubectl(['get', kind, '-n', ns, '-o', 'name'])).stdout.split('\n').filter(Boolean);
    for (const name of names)
      await kubectl(['patch', name, '-n', ns, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
  }
  await ok(['delete', 'namespace', ns, '--wait=false']);
}

export async function createNamespace(prefix: string): Promise<string> {
  const ns = `${prefix}-${Math.random().toString(36).slice(2, 7)}`;
  await ok(['create', 'namespace', ns]);
  return ns;
}

/** The operator, in-process, watching one namespace (so test files do not see each other's objects). */
export async function startOperator(namespace: string): Promise<PrognosOperator> {
  const operator = new PrognosOperator({
    kubeConfig: kubeConfig(),
    namespace,
    leaderElection: false,
    handleSignals: false,
    logger: pino({ level: process.env.PROGNOS_TEST_LOG ?? 'warn' }),
  });
  await operator.start();
  return operator;
}

export interface ModelFile {
  path: string;
  uri: string;
  sha256: string;
}

export const FEATURES = ['vibration', 'temperature'];
export const MODEL_INPUTS = ['vibration', 'temperature', 'vibration.mean'];

/** A real MLP classifier over `width` inputs; different seeds give different bytes (and digests). */
export function writeModel(dir: string, name: string, seed: number, width = MODEL_INPUTS.length): ModelFile {
  const { bytes } = buildMlpClassifier(randomLayers([width, 8, 1], seed));
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return { path, uri: `file://${path}`, sha256: createHash('sha256').update(bytes).digest('hex') };
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'prognos-op-it-'));
}

export function fleetManifest(
  ns: string,
  name: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    apiVersion: 'prognos.dev/v1alpha1',
    kind: 'SensorFleet',
    metadata: { name, namespace: ns },
    spec: {
      nats: { url: testEnv().natsUrl },
      subject: `${ns}.${name}.*.readings`,
      machineId: { subjectToken: 3 },
      stream: { maxAge: '1h' },
      schema: {
        timestampField: 'ts',
        timestampFormat: 'UnixMillis',
        features: [
          { name: 'vibration', min: 0, max: 50 },
          { name: 'temperature', min: -40, max: 200 },
        ],
      },
      windows: [{ feature: 'vibration', size: 10, aggregations: ['mean'] }],
      deletionPolicy: 'Delete',
      ...extra,
    },
  };
}

export function modelManifest(
  ns: string,
  name: string,
  fleet: string,
  model: { version: string; uri: string; sha256: string; inputs?: string[] },
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    apiVersion: 'prognos.dev/v1alpha1',
    kind: 'MaintenanceModel',
    metadata: { name, namespace: ns },
    spec: {
      fleetRef: { name: fleet },
      task: 'classification',
      model: {
        version: model.version,
        uri: model.uri,
        sha256: model.sha256,
        inputs: model.inputs ?? MODEL_INPUTS,
      },
      thresholds: { warning: 0.5, critical: 0.8 },
      serving: { replicas: 1, batching: { maxBatch: 64, maxDelayMs: 5 } },
      ...extra,
    },
  };
}

export async function applyObject(obj: Record<string, unknown>): Promise<void> {
  await ok(['apply', '--server-side', '--field-manager=test', '-f', '-'], JSON.stringify(obj));
}

export interface Cond {
  type: string;
  status: string;
  reason: string;
  message: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary fields of kubectl's JSON
export async function getJson(ns: string, what: string): Promise<any> {
  const r = await kubectl(['get', '-n', ns, what, '-o', 'json']);
  return r.code === 0 ? JSON.parse(r.stdout) : undefined;
}

export async function condition(ns: string, what: string, type: string): Promise<Cond | undefined> {
  const obj = await getJson(ns, what);
  return (obj?.status?.conditions as Cond[] | undefined)?.find((c) => c.type === type);
}

/** Waits until condition `type` of `what` has `status` (and `reason`, when given). */
export function waitCondition(
  ns: string,
  what: string,
  type: string,
  status: string,
  reason?: string,
  timeoutMs = 90_000,
): Promise<Cond> {
  return eventually(
    `${what} ${type}=${status}${reason ? ` (${reason})` : ''}`,
    async () => {
      const c = await condition(ns, what, type);
      return c && c.status === status && (reason === undefined || c.reason === reason) ? c : undefined;
    },
    timeoutMs,
  );
}

export interface ObjectEvent {
  reason: string;
  message: string;
  /** How many times it happened (an Event series counts repeats). */
  count?: number;
}

/** The Events about the object `name` in `ns`, as kubectl lists them. */
export async function objectEvents(ns: string, name: string): Promise<ObjectEvent[]> {
  const events = await ok([
    'get',
    'events',
    '-n',
    ns,
    '--field-selector',
    `involvedObject.name=${name}`,
    '-o',
    'json',
  ]);
  return (JSON.parse(events) as { items: ObjectEvent[] }).items;
}

export async function natsClient(): Promise<{ nc: NatsConnection; jsm: JetStreamManager }> {
  const nc = await connect({ servers: testEnv().natsUrl });
  return { nc, jsm: await jetstreamManager(nc) };
}

export const SERVICE_MONITOR_CRD_NAME = 'servicemonitors.monitoring.coreos.com';

/** A minimal but valid ServiceMonitor CRD: the real one's names, v1 served and stored, spec kept as given. */
export const SERVICE_MONITOR_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: SERVICE_MONITOR_CRD_NAME },
  spec: {
    group: 'monitoring.coreos.com',
    scope: 'Namespaced',
    names: {
      kind: 'ServiceMonitor',
      listKind: 'ServiceMonitorList',
      plural: 'servicemonitors',
      singular: 'servicemonitor',
      shortNames: ['smon'],
      categories: ['prometheus-operator'],
    },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          },
        },
      },
    ],
  },
};

/**
 * A NATS user credentials file (`.creds`, as `nsc` writes it) for a fresh user nkey. The JWT is a
 * placeholder: servers that authorize plain nkey users check the seed's signature, not the JWT.
 */
export function natsUserCreds(): { creds: string; publicKey: string } {
  const user = createUser();
  const seed = new TextDecoder().decode(user.getSeed());
  const jwt = `eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.${Buffer.from(JSON.stringify({ sub: user.getPublicKey() })).toString('base64url')}.sig`;
  const creds = [
    '-----BEGIN NATS USER JWT-----',
    jwt,
    '------END NATS USER JWT------',
    '',
    '-----BEGIN USER NKEY SEED-----',
    seed,
    '------END USER NKEY SEED------',
    '',
  ].join('\n');
  return { creds, publicKey: user.getPublicKey() };
}

export function secretManifest(
  ns: string,
  name: string,
  data: Record<string, string>,
): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, stringData: data };
}
