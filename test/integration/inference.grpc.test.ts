// The inference runtime's gRPC surface against a real nats-server and a real ONNX model: the five
// InferenceService methods, INVALID_ARGUMENT naming the field, deadlines, grpc.health.v1 and
// server reflection.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTO_FILE, PROTO_LOADER_OPTIONS } from '../../runtimes/inference/serve/grpcServer.ts';
import { startRuntime, type Runtime } from '../../runtimes/inference/runtime.ts';
import {
  collect,
  connectTo,
  FLEET,
  MODEL,
  NAMESPACE,
  reading,
  readingSubject,
  runtimeConfig,
  startTestNats,
  waitUntil,
  writeClassifier,
  type TestNats,
} from './inferenceHarness.ts';

type Callback = (err: grpc.ServiceError | null, res: Record<string, unknown>) => void;
type Client = grpc.Client &
  Record<string, (req: unknown, opts: grpc.CallOptions | Callback, cb?: Callback) => unknown>;

let nats: TestNats;
let nc: NatsConnection;
let rt: Runtime;
let client: Client;

function clientFor<T>(file: string, path: string[], port: number, includeDirs?: string[]): T {
  const def = protoLoader.loadSync(file, {
    ...PROTO_LOADER_OPTIONS,
    ...(includeDirs ? { includeDirs } : {}),
  });
  let node: unknown = grpc.loadPackageDefinition(def);
  for (const p of path) node = (node as Record<string, unknown>)[p];
  const Ctor = node as grpc.ServiceClientConstructor;
  return new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as T;
}

function unary(method: string, req: unknown, deadlineMs = 5000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    client[method]!(req, { deadline: Date.now() + deadlineMs }, (err, res) =>
      err ? reject(err) : resolve(res),
    );
  });
}

const grpcReading = (machineId: string, overrides: Record<string, number> = {}) => ({
  machineId,
  tsMs: Date.now(),
  features: { vibration: 3, temperature: 70, pressure: 2, ...overrides },
});

beforeAll(async () => {
  nats = await startTestNats();
  nc = await connectTo(nats.server.url);
  const model = writeClassifier(nats.dir);
  await (
    await jetstreamManager(nc)
  ).streams.add({ name: 'plant-a-pumps', subjects: ['plant-a.pumps.*.readings'] });
  rt = await startRuntime(runtimeConfig(nats.server.url, model), { logger: pino({ level: 'warn' }) });
  client = clientFor<Client>(PROTO_FILE, ['prognos', 'inference', 'v1', 'InferenceService'], rt.grpcPort);
});

afterAll(async () => {
  client?.close();
  await rt?.stop();
  await nc?.close();
  await nats?.cleanup();
});

describe('InferenceService', () => {
  it('Predict scores one reading with severity, health, contributions, version and role; nothing is published', async () => {
    const published = collect(nc, `prognos.predictions.${NAMESPACE}.${MODEL}.>`);
    const { prediction } = (await unary('Predict', { reading: grpcReading('pump-g1') })) as {
      prediction: Record<string, unknown>;
    };
    expect(prediction).toMatchObject({
      machineId: 'pump-g1',
      model: MODEL,
      modelVersion: 'v1',
      role: 'ROLE_STABLE',
      fallback: false,
    });
    expect(['SEVERITY_OK', 'SEVERITY_WARNING', 'SEVERITY_CRITICAL']).toContain(prediction.severity);
    expect(prediction.healthScore).toBeGreaterThanOrEqual(0);
    expect((prediction.contributions as { feature: string }[]).map((c) => c.feature).sort()).toEqual([
      'pressure',
      'temperature',
      'vibration',
    ]);
    await new Promise((r) => setTimeout(r, 100));
    expect(published.messages).toHaveLength(0);
    published.stop();
  });

  it('PredictBatch answers in request order', async () => {
    const readings = Array.from({ length: 64 }, (_, i) => grpcReading(`pump-b${i}`, { vibration: i % 50 }));
    const { predictions } = (await unary('PredictBatch', { readings })) as {
      predictions: { machineId: string }[];
    };
    expect(predictions.map((p) => p.machineId)).toEqual(readings.map((r) => r.machineId));
  });

  it.each([
    [
      'Predict',
      { reading: grpcReading('pump-x', { vibration: 99 }) },
      'reading.features[vibration]: out_of_range',
    ],
    ['Predict', { reading: grpcReading('bad id!') }, 'reading.machine_id: bad_machine_id'],
    [
      'Predict',
      { reading: { machineId: 'pump-x', tsMs: 1, features: { vibration: 1, temperature: 1 } } },
      'reading.features[pressure]: missing_field',
    ],
    [
      'Predict',
      { reading: grpcReading('pump-x', { pressure: Number.NaN }) },
      'reading.features[pressure]: not_finite',
    ],
    [
      'Predict',
      { reading: { ...grpcReading('pump-x'), tsMs: Date.now() + 86_400_000 } },
      'reading.ts_ms: timestamp_in_future',
    ],
    ['Predict', {}, 'reading: missing_field'],
    [
      'PredictBatch',
      { readings: [grpcReading('pump-ok'), grpcReading('pump-x', { temperature: 500 })] },
      'readings[1].features[temperature]: out_of_range',
    ],
    ['PredictBatch', { readings: [] }, 'readings: empty'],
    ['SubmitFeedback', { machineId: 'pump-1', event: 'exploded' }, 'event: unknown_event'],
    ['GetMachineHealth', { machineId: '' }, 'machine_id: empty'],
  ])('%s rejects a bad request with INVALID_ARGUMENT naming the field (%#)', async (method, req, message) => {
    const err = (await unary(method, req).catch((e: grpc.ServiceError) => e)) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details.startsWith(message)).toBe(true);
  });

  it('honours deadlines: an expired call gets DEADLINE_EXCEEDED', async () => {
    const err = (await unary('Predict', { reading: grpcReading('pump-d') }, -1).catch(
      (e: grpc.ServiceError) => e,
    )) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.DEADLINE_EXCEEDED);
  });

  it('StreamPredictions streams live predictions of one machine, leaving shadow ones out', async () => {
    const stream = client['StreamPredictions']!(
      { machineId: 'pump-s1' },
      { deadline: Date.now() + 10_000 },
    ) as grpc.ClientReadableStream<{
      machineId: string;
      role: string;
    }>;
    const got: { machineId: string; role: string }[] = [];
    stream.on('data', (p) => got.push(p));
    stream.on('error', () => undefined);
    await new Promise((r) => setTimeout(r, 200));
    const js = (await jetstreamManager(nc)).jetstream();
    for (let i = 0; i < 5; i++) await js.publish(readingSubject(i % 2 ? 'pump-s1' : 'pump-s2'), reading(i));
    nc.publish(
      `prognos.predictions.${NAMESPACE}.${MODEL}.pump-s1`,
      JSON.stringify({
        machineId: 'pump-s1',
        ts: 1,
        score: 0,
        severity: 'ok',
        healthScore: 100,
        contributions: {},
        model: MODEL,
        modelVersion: 'v9',
        role: 'shadow',
        fallback: false,
      }),
    );
    await waitUntil(
      () => got.length >= 2,
      5000,
      () => `${got.length} streamed`,
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(got.map((p) => [p.machineId, p.role])).toEqual([
      ['pump-s1', 'ROLE_STABLE'],
      ['pump-s1', 'ROLE_STABLE'],
    ]);
    stream.cancel();
  });

  it('StreamPredictions for another fleet is NOT_FOUND', async () => {
    const stream = client['StreamPredictions']!(
      { fleet: 'not-mine' },
      { deadline: Date.now() + 5000 },
    ) as grpc.ClientReadableStream<unknown>;
    const err = await new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
    expect(err.code).toBe(grpc.status.NOT_FOUND);
  });

  it('GetMachineHealth returns the latest state a replica stored; NOT_FOUND for an unknown machine', async () => {
    const js = (await jetstreamManager(nc)).jetstream();
    await js.publish(readingSubject('pump-h1'), reading(1));
    await waitUntil(
      () =>
        unary('GetMachineHealth', { machineId: 'pump-h1' }).then(
          () => true,
          () => false,
        ),
      5000,
      () => 'no health for pump-h1',
    );
    const health = await unary('GetMachineHealth', { machineId: 'pump-h1' });
    expect(health).toMatchObject({ machineId: 'pump-h1', modelVersion: 'v1', role: 'ROLE_STABLE' });
    const err = (await unary('GetMachineHealth', { machineId: 'pump-none' }).catch(
      (e: grpc.ServiceError) => e,
    )) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.NOT_FOUND);
  });

  it('SubmitFeedback publishes the maintenance event on the labels subject', async () => {
    const labels = collect(nc, `prognos.labels.${NAMESPACE}.${FLEET}.>`);
    await nc.flush(); // the subscription is on the server before the runtime publishes
    const res = await unary('SubmitFeedback', {
      machineId: 'pump-7',
      event: 'repair',
      tsMs: 0,
      note: 'bearing replaced',
    });
    expect(res.subject).toBe(`prognos.labels.${NAMESPACE}.${FLEET}.pump-7`);
    const [label] = await labels.waitFor(1);
    expect(label!.subject).toBe(res.subject);
    expect(label!.json).toMatchObject({
      schema: 1,
      machineId: 'pump-7',
      event: 'repair',
      note: 'bearing replaced',
    });
    labels.stop();
  });
});

describe('standard services', () => {
  it('grpc.health.v1 reports SERVING for the server and the inference service', async () => {
    const health = clientFor<Client>(healthProtoPath, ['grpc', 'health', 'v1', 'Health'], rt.grpcPort);
    for (const service of ['', 'prognos.inference.v1.InferenceService']) {
      const res = await new Promise<Record<string, unknown>>((resolve, reject) =>
        health['check']!({ service }, (err, r) => (err ? reject(err) : resolve(r))),
      );
      expect(res.status).toBe('SERVING');
    }
    health.close();
  });

  it('server reflection lists the inference and health services', async () => {
    const reflectionDir = join(
      dirname(createRequire(import.meta.url).resolve('@grpc/reflection')),
      '../proto',
    );
    const reflection = clientFor<Client>(
      join(reflectionDir, 'grpc/reflection/v1/reflection.proto'),
      ['grpc', 'reflection', 'v1', 'ServerReflection'],
      rt.grpcPort,
    );
    const call = reflection['ServerReflectionInfo']!({}, {}) as grpc.ClientDuplexStream<
      unknown,
      { listServicesResponse?: { service: { name: string }[] } }
    >;
    const response = new Promise<{ listServicesResponse?: { service: { name: string }[] } }>(
      (resolve, reject) => {
        call.on('data', resolve);
        call.on('error', reject);
      },
    );
    call.write({ listServices: '' });
    const names = (await response).listServicesResponse!.service.map((s) => s.name);
    call.end();
    expect(names).toEqual(
      expect.arrayContaining(['prognos.inference.v1.InferenceService', 'grpc.health.v1.Health']),
    );
    reflection.close();
  });
});
