// Shared pieces of the inference-runtime integration tests: a private nats-server per test file
// (so tests can restart it), real ONNX files from the core's builders, runtime configs, and
// subscribers that collect what the runtime publishes.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { stringify as toYaml } from 'yaml';
import { parseRuntimeConfig, type RuntimeConfig } from '../../contracts/runtimeConfig.ts';
import { buildMlpClassifier, randomLayers } from '../../contracts/onnx/buildModel.ts';
import { desiredConsumers, ensureConsumers } from '../../operator/controllers/maintenanceModel/consumers.ts';
import { fleetFixture, modelFixture } from '../../operator/controllers/testdata/fixtures.ts';
import { TermFence } from '../../operator/framework/fence.ts';
import { PROTO_FILE, PROTO_LOADER_OPTIONS } from '../../runtimes/inference/serve/grpcServer.ts';
import { ensureBinaries, repoRoot } from '../cluster/binaries.ts';
import { startNatsServer, type NatsServer } from '../cluster/nats.ts';

export const NAMESPACE = 'plant-a';
export const FLEET = 'pumps';
export const MODEL = 'pump-failure';
export const READING_SUBJECT = 'plant-a.pumps.*.readings';
export const MODEL_INPUTS = ['vibration', 'temperature', 'pressure', 'vibration.mean', 'vibration.std'];

export interface TestNats {
  server: NatsServer;
  dir: string;
  cleanup(): Promise<void>;
}

/** A fresh nats-server with JetStream in a temp dir. */
export async function startTestNats(): Promise<TestNats> {
  const dir = mkdtempSync(join(tmpdir(), 'prognos-inference-it-'));
  const server = await startNatsServer({ binary: (await ensureBinaries()).natsServer, dir });
  return {
    server,
    dir,
    async cleanup() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ModelFile {
  uri: string;
  sha256: string;
}

/** Writes ONNX bytes to `dir/name`: the file:// artifact a runtime config names, with its sha256. */
export function writeModelFile(dir: string, name: string, bytes: Uint8Array): ModelFile {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return { uri: `file://${path}`, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** Writes a real MLP classifier over MODEL_INPUTS (seeded, so two calls give the same bytes). */
export function writeClassifier(dir: string, name = 'model.onnx', seed = 7): ModelFile {
  const { bytes } = buildMlpClassifier(randomLayers([MODEL_INPUTS.length, 8, 1], seed), {
    baseline: { inputs: MODEL_INPUTS, means: [5, 60, 3, 5, 1] },
  });
  return writeModelFile(dir, name, bytes);
}

/** A Predict client of the runtime's InferenceService (plaintext, loopback). */
export function predictClient(grpcPort: number): {
  predict(reading: {
    machineId: string;
    tsMs?: number;
    features: Record<string, number>;
  }): Promise<Record<string, unknown>>;
  close(): void;
} {
  const def = protoLoader.loadSync(PROTO_FILE, PROTO_LOADER_OPTIONS);
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    prognos: { inference: { v1: { InferenceService: grpc.ServiceClientConstructor } } };
  };
  const client = new pkg.prognos.inference.v1.InferenceService(
    `127.0.0.1:${grpcPort}`,
    grpc.credentials.createInsecure(),
  ) as grpc.Client &
    Record<string, (req: unknown, cb: (e: Error | null, r: Record<string, unknown>) => void) => void>;
  return {
    predict: (reading) =>
      new Promise((resolve, reject) =>
        client['Predict']!({ reading: { tsMs: Date.now(), ...reading } }, (e, r) =>
          e ? reject(e) : resolve(r['prediction'] as Record<string, unknown>),
        ),
      ),
    close: () => client.close(),
  };
}

/** A readings stream partitioned `partitions` ways on the machine token, as a SensorFleet's. */
export async function addPartitionedStream(
  nc: NatsConnection,
  stream: string,
  partitions: number,
): Promise<void> {
  await (
    await jetstreamManager(nc)
  ).streams.add({
    name: stream,
    subjects: ['plant-a.pumps.*.readings'],
    subject_transform: {
      src: 'plant-a.pumps.*.readings',
      dest: `plant-a.pumps.{{wildcard(1)}}.readings.{{partition(${partitions},1)}}`,
    },
  });
}

/** The operator's consumers (consumers.ts) of `model` on that stream, from new readings; their names. */
export async function addModelConsumers(
  nc: NatsConnection,
  stream: string,
  partitions: number,
  model: string,
): Promise<string[]> {
  const m = modelFixture((x) => (x.metadata.name = model));
  const desired = desiredConsumers(
    m,
    fleetFixture((f) => (f.spec.stream.partitions = partitions)),
    1024,
  );
  await ensureConsumers(nc, stream, m, desired, new TermFence());
  return desired.map((c) => c.name);
}

/** The runtime config's input for operator-made consumers on a partitioned stream. */
export function partitionedInput(stream: string, consumers: readonly string[]): Record<string, unknown> {
  return {
    mode: 'jetstream',
    subject: 'plant-a.pumps.*.readings.*',
    stream,
    consumers,
    machineId: { subjectToken: 3 },
  };
}

/** A complete runtime config for the test fleet; `overrides` replace top-level sections. */
export function runtimeConfig(
  natsUrl: string,
  model: ModelFile,
  overrides: Record<string, unknown> = {},
): RuntimeConfig {
  return parseRuntimeConfig({
    namespace: NAMESPACE,
    fleet: FLEET,
    model: MODEL,
    version: 'v1',
    role: 'stable',
    task: 'classification',
    nats: { servers: [natsUrl] },
    input: {
      mode: 'jetstream',
      subject: READING_SUBJECT,
      stream: 'plant-a-pumps',
      durable: 'pump-failure-v1',
      queueGroup: 'pump-failure-v1',
      machineId: { subjectToken: 3 },
    },
    schema: {
      timestampField: 'ts',
      timestampFormat: 'UnixMillis',
      features: [
        { name: 'vibration', min: 0, max: 50, required: true },
        { name: 'temperature', min: -40, max: 200, required: true },
        { name: 'pressure', min: 0, max: 20, required: true },
      ],
    },
    windows: [{ feature: 'vibration', size: 10, aggregations: ['mean', 'std'] }],
    artifact: { uri: model.uri, sha256: model.sha256, inputs: MODEL_INPUTS },
    thresholds: { warning: 0.5, critical: 0.8 },
    fallback: { rules: [{ feature: 'temperature', above: 95, severity: 'critical' }] },
    batching: { maxBatch: 64, maxDelayMs: 2 },
    grpc: { port: 0, host: '127.0.0.1' },
    http: { port: 0, host: '127.0.0.1' },
    telemetry: { intervalMs: 500 },
    ...overrides,
  });
}

export function writeConfigFile(dir: string, config: RuntimeConfig, name = 'runtime.yaml'): string {
  const path = join(dir, name);
  writeFileSync(path, toYaml(config));
  return path;
}

export const reading = (i: number, extra: Record<string, unknown> = {}): Uint8Array =>
  new TextEncoder().encode(
    JSON.stringify({
      ts: Date.now(),
      vibration: 2 + (i % 7),
      temperature: 60 + (i % 5),
      pressure: 3,
      ...extra,
    }),
  );

export const readingSubject = (machineId: string): string => `plant-a.pumps.${machineId}.readings`;

export interface Collected {
  subject: string;
  json: Record<string, unknown>;
}

export interface Collector {
  messages: Collected[];
  /** Resolves when at least `count` messages arrived; rejects after timeoutMs. */
  waitFor(count: number, timeoutMs?: number): Promise<Collected[]>;
  stop(): void;
}

export function collect(nc: NatsConnection, subject: string): Collector {
  const messages: Collected[] = [];
  const sub: Subscription = nc.subscribe(subject, {
    callback: (_err, msg) => {
      messages.push({ subject: msg.subject, json: msg.json<Record<string, unknown>>() });
    },
  });
  return {
    messages,
    waitFor: (count, timeoutMs = 10_000) =>
      waitUntil(
        () => messages.length >= count,
        timeoutMs,
        () => `${messages.length}/${count} on ${subject}`,
      ).then(() => messages),
    stop: () => sub.unsubscribe(),
  };
}

/** Polls `condition` every 20 ms; rejects with `describe()` after timeoutMs. */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  describe: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${describe()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const connectTo = (url: string): Promise<NatsConnection> =>
  connect({ servers: url, maxReconnectAttempts: -1, reconnectTimeWait: 200 });

export interface RuntimeProcess {
  child: ChildProcess;
  httpPort: number;
  grpcPort: number;
  /** Everything the process wrote to stdout (pino JSON lines). */
  output: string[];
  metrics(): Promise<string>;
  readyz(): Promise<{ status: number; body: string }>;
  /** SIGTERM, SIGKILL after killAfterMs; resolves with the exit code. */
  stop(killAfterMs?: number): Promise<number | null>;
  kill(): Promise<void>;
}

/** Runs `prognos-inference --config <path>` (main.ts under Node 24) and waits for its start log line. */
export async function spawnRuntime(
  configPath: string,
  env: Record<string, string> = {},
): Promise<RuntimeProcess> {
  const child = spawn(
    join(repoRoot, 'scripts/node24'),
    [join(repoRoot, 'runtimes/inference/main.ts'), '--config', configPath],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, ...env },
    },
  );
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const started = new Promise<{ httpPort: number; grpcPort: number }>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output.push(line);
      if (!line.includes('"runtime started"')) return;
      const entry = JSON.parse(line) as { httpPort: number; grpcPort: number };
      resolve({ httpPort: entry.httpPort, grpcPort: entry.grpcPort });
    });
    void exited.then((code) =>
      reject(new Error(`runtime exited (${code}) before starting:\n${output.join('\n')}`)),
    );
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const { httpPort, grpcPort } = await started.finally(() => clearTimeout(timer));
  const http = (path: string) => fetch(`http://127.0.0.1:${httpPort}${path}`);
  return {
    child,
    httpPort,
    grpcPort,
    output,
    metrics: () => http('/metrics').then((r) => r.text()),
    readyz: async () => {
      const r = await http('/readyz');
      return { status: r.status, body: await r.text() };
    },
    async stop(killAfterMs = 15_000) {
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      const code = await exited;
      clearTimeout(kill);
      return code;
    },
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Sum of a Prometheus metric's samples (optionally only lines starting with name+labels). */
export function metricValue(text: string, name: string, labels = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + labels)) continue;
    const rest = line.slice(name.length);
    if (!labels && rest[0] !== ' ' && rest[0] !== '{') continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
