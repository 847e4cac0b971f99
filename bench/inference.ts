// Inference runtime benchmark: `npm run bench:inference -- --json`.
//
// Against a real nats-server on loopback, in one run:
// - jetstream: N readings pre-published to a stream; a raw consumer (its own connection, decode JSON
//   + explicit ack per message, pulling as many ahead as the runtime) drains a durable, then the real
//   runtime (main.ts, a child process) drains another durable with the same settings on the same
//   stream. Both rates are acks recorded by the server per second (polled ack floor), first to last.
//   `--jetstream-runs N` (default 3) rounds, each with durables and a runtime of its own; the ratio
//   reported is their median.
// - core: a publisher child offers readings at its maximum rate for a fixed time; a raw queue
//   subscriber (decode JSON, publish one prediction-sized document) and then the runtime process
//   them; rates are readings handled per second.
// - grpc: against the runtime process, each latency load from a client process of its own: Predict
//   at 500 req/s (open loop), PredictBatch(64) back to back; StreamPredictions fed by predictions
//   published on NATS.
// - memory.bytesPerMachine: runtime RSS growth per newly seen machine (8 features x 60-sample
//   windows): RSS after N new machines minus RSS after N other new machines, so the garbage and
//   buffers of the same traffic cancel out.
// - eventLoop: the runtime's own perf_hooks event-loop delay p99 under full JetStream load, against
//   an idle Node process's over the same window at the same resolution.
// - targets: each figure against its limit.
// The model is the design anchor's MLP shape (18-64-64-1 here) with occlusion contributions per
// sensor feature (the default granularity), so every reading costs 1 + 8 ORT rows; the JSON's
// `model` field states it.
// Everything is bounded: the whole run takes about 75 s.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { stringify as toYaml } from 'yaml';
import { parseRuntimeConfig, type RuntimeConfig } from '../contracts/runtimeConfig.ts';
import { PROTO_FILE, PROTO_LOADER_OPTIONS } from '../runtimes/inference/serve/grpcServer.ts';
import { buildMlpClassifier, randomLayers } from '../contracts/onnx/buildModel.ts';
import { ensureBinaries, repoRoot } from '../test/cluster/binaries.ts';
import { startNatsServer } from '../test/cluster/nats.ts';
import { metricValue, spawnRuntime, type RuntimeProcess } from '../test/integration/inferenceHarness.ts';
import { machineTicks, processCpuMs, threadCpuMs } from './procStats.ts';

const FEATURES = ['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7'];
const INPUTS = [...FEATURES, ...FEATURES.map((f) => `${f}.mean`), 'f0.std', 'f0.slope'];
/** The MLP of the design's performance anchor (20-64-64-1), on this schema's 18 inputs. */
const LAYERS = [INPUTS.length, 64, 64, 1];
const MAX_BATCH = 256;
/** Readings the runtime pulls ahead (its default input.maxInFlight: 4 batches); the raw arm pulls the same. */
const IN_FLIGHT = 4 * MAX_BATCH;
const JS_READINGS = 150_000;
const MACHINES = 20_000;
const MEMORY_MACHINES = 30_000;
const CORE_SECONDS = 6;
const CORE_WARMUP_SECONDS = 1.5;
const UNARY_RATE = 500;
const UNARY_SECONDS = 4;
const BATCH_CALLS = 300;
const STREAM_SECONDS = 3;
const STREAM_OFFERED_PER_SEC = 40_000;

const json = process.argv.includes('--json');
const log = (msg: string): void => {
  if (!json) console.error(msg);
};
const enc = new TextEncoder();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readingBytes(i: number, machines = MACHINES, prefix = 'm'): { machine: string; data: Uint8Array } {
  const machine = `${prefix}-${i % machines}`;
  const doc: Record<string, number> = { ts: Date.now() };
  for (let f = 0; f < FEATURES.length; f++) doc[FEATURES[f]!] = ((i * 7 + f * 13) % 100) / 10;
  return { machine, data: enc.encode(JSON.stringify(doc)) };
}

function percentile(values: number[], p: number): number {
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

/** CPU µs per reading between two snapshots: main thread, pipeline worker, everything else of the runtime. */
function runtimeCpuPerReading(
  before: Map<string, number>,
  after: Map<string, number>,
  readings: number,
): { mainThread: number; pipelineWorker: number; otherThreads: number } {
  const delta = (name?: string): number => {
    let sum = 0;
    for (const [n, ms] of after) if (name === undefined || n === name) sum += ms - (before.get(n) ?? 0);
    return sum;
  };
  const main = delta('MainThread');
  const worker = delta('pipeline');
  const per = (ms: number): number => round((ms * 1000) / readings, 1);
  return { mainThread: per(main), pipelineWorker: per(worker), otherThreads: per(delta() - main - worker) };
}

// ---------------------------------------------------------------- child roles

/**
 * Publishes readings as fast as the connection takes them, or predictions at STREAM_OFFERED_PER_SEC
 * (a fixed offer: flooding one subscriber would measure the server's slow-consumer handling, not the
 * stream), for `seconds`.
 */
async function publisherRole(url: string, kind: 'readings' | 'predictions', seconds: number): Promise<void> {
  const nc = await connect({ servers: url });
  const end = Date.now() + seconds * 1000;
  let i = 0;
  const prediction = enc.encode(
    JSON.stringify({
      machineId: 'm-1',
      ts: Date.now(),
      score: 0.3,
      severity: 'ok',
      healthScore: 70,
      contributions: Object.fromEntries(FEATURES.map((name, j) => [name, (j - 4) / 1000])),
      model: 'bench-model',
      modelVersion: 'v1',
      role: 'stable',
      fallback: false,
    }),
  );
  const started = Date.now();
  while (Date.now() < end) {
    if (kind === 'predictions') {
      const due = started + (i / STREAM_OFFERED_PER_SEC) * 1000;
      if (due > Date.now()) await sleep(due - Date.now());
    }
    for (let k = 0; k < 1000; k++, i++) {
      if (kind === 'readings') {
        const r = readingBytes(i);
        nc.publish(`bench.core.${r.machine}.readings`, r.data);
      } else nc.publish(`prognos.predictions.bench.bench-model.m-${i % 100}`, prediction);
    }
    // Flushing every 1000 keeps the client buffer bounded without a round trip per message.
    await nc.flush();
  }
  await nc.close();
  process.stdout.write(`${JSON.stringify({ published: i })}\n`);
}

/**
 * monitorEventLoopDelay resolution of both sides of the event-loop figure: the runtime's metric
 * samples at 1 ms (runtimes/inference/serve/metrics.ts); a coarser idle side would hide its own lag.
 */
const LAG_RESOLUTION_MS = 1;

/**
 * An idle Node process's own event-loop delay: the machine's floor for the runtime's lag figure.
 * Driven over stdin so its window matches the runtime's: `reset` when the runtime's histogram is
 * reset (a scrape), `report` when it is read.
 */
async function idleLagRole(): Promise<void> {
  const loop = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  loop.enable();
  process.stdout.write('ready\n');
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'reset') loop.reset();
    else if (line === 'report') break;
  }
  loop.disable();
  process.stdout.write(`${JSON.stringify({ p99Ms: loop.percentile(99) / 1e6 })}\n`);
}

interface IdleLag {
  reset(): void;
  report(): Promise<number>;
}

/** Starts the idle-lag child and waits until its histogram runs. */
async function spawnIdleLag(): Promise<IdleLag> {
  const child = spawn(
    join(repoRoot, 'scripts/node24'),
    [new URL(import.meta.url).pathname, '--role', 'idle-lag'],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  if ((await lines.next()).value !== 'ready') throw new Error('idle-lag child did not start');
  return {
    reset: () => child.stdin.write('reset\n'),
    async report() {
      child.stdin.end('report\n');
      const line = await lines.next();
      if (line.done) throw new Error('idle-lag child exited without a report');
      return (JSON.parse(line.value as string) as { p99Ms: number }).p99Ms;
    },
  };
}

function benchConfig(
  natsUrl: string,
  modelUri: string,
  sha256: string,
  input: Record<string, unknown>,
): RuntimeConfig {
  return parseRuntimeConfig({
    namespace: 'bench',
    fleet: 'bench-fleet',
    model: 'bench-model',
    version: 'v1',
    role: 'stable',
    task: 'classification',
    nats: { servers: [natsUrl] },
    input,
    schema: {
      timestampField: 'ts',
      timestampFormat: 'UnixMillis',
      maxFutureSkewMs: 3_600_000,
      features: FEATURES.map((name) => ({ name, min: 0, max: 100, required: true })),
    },
    windows: FEATURES.map((feature, i) => ({
      feature,
      size: 60,
      aggregations: i === 0 ? ['mean', 'std', 'slope'] : ['mean'],
    })),
    artifact: { uri: modelUri, sha256, inputs: INPUTS },
    thresholds: { warning: 0.5, critical: 0.8 },
    batching: { maxBatch: MAX_BATCH, maxDelayMs: 5 },
    grpc: { port: 0, host: '127.0.0.1' },
    http: { port: 0, host: '127.0.0.1' },
    telemetry: { intervalMs: 5000 },
  });
}

// ---------------------------------------------------------------- phases

async function publishToStream(
  nc: NatsConnection,
  count: number,
  prefix = 'm',
  machines = MACHINES,
): Promise<void> {
  const js = jetstream(nc);
  for (let i = 0; i < count;) {
    const acks: Promise<unknown>[] = [];
    for (let k = 0; k < 2000 && i < count; k++, i++) {
      const r = readingBytes(i, machines, prefix);
      acks.push(js.publish(`bench.js.${r.machine}.readings`, r.data));
    }
    await Promise.all(acks);
  }
}

/** Both arms' durables: the same consumer settings, so only the work per reading differs. */
async function addDurable(nc: NatsConnection, stream: string, name: string): Promise<void> {
  await (
    await jetstreamManager(nc)
  ).consumers.add(stream, {
    durable_name: name,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    max_ack_pending: 20_000,
  });
}

/**
 * The raw limit: a consumer on its own connection (like the runtime's) that decodes each reading's
 * JSON and acks it explicitly, pulling `IN_FLIGHT` at a time as the runtime does (4 batches of 256).
 * Measured exactly as the runtime is: acks the server has recorded, polled on the durable.
 */
async function rawJetStream(
  url: string,
  nc: NatsConnection,
  stream: string,
  durable: string,
): Promise<number> {
  await addDurable(nc, stream, durable);
  const rawNc = await connect({ servers: url });
  const consumer = await jetstream(rawNc).consumers.get(stream, durable);
  const messages = await consumer.consume({ max_messages: IN_FLIGHT });
  const dec = new TextDecoder();
  const drained = (async () => {
    let n = 0;
    for await (const m of messages) {
      JSON.parse(dec.decode(m.data));
      m.ack();
      if (++n === JS_READINGS) break;
    }
  })();
  const rate = await ackRate(nc, stream, durable, JS_READINGS);
  await drained;
  await messages.close();
  await rawNc.close();
  return rate;
}

/** Polls the durable until every message is acked; rate from first to last observed ack. */
async function ackRate(nc: NatsConnection, stream: string, durable: string, total: number): Promise<number> {
  const jsm = await jetstreamManager(nc);
  let first: { t: number; acked: number } | undefined;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const info = await jsm.consumers.info(stream, durable).catch(() => undefined);
    const acked = info ? info.ack_floor.stream_seq : 0;
    const t = performance.now();
    if (!first && acked > 0) first = { t, acked };
    if (first && acked >= total) return (acked - first.acked) / ((t - first.t) / 1000);
    await sleep(20);
  }
  throw new Error(`runtime did not ack ${total} readings within 60 s`);
}

/** The constant tail of a prediction (model, version, role, fallback), pre-rendered as the runtime's encoder does. */
const RAW_PREDICTION_TAIL = ',"model":"bench-model","modelVersion":"v1","role":"stable","fallback":false}';

/**
 * A document with the keys, order and size of the runtime's prediction JSON (`Prediction` in
 * runtimes/inference/pipeline/pipeline.ts: full-precision score, one six-decimal contribution per
 * sensor feature), built by concatenation: the least encoding any scorer has to do.
 */
function rawPrediction(machine: string, reading: Record<string, number>): string {
  let sum = 0;
  let contributions = '';
  for (let f = 0; f < FEATURES.length; f++) {
    const name = FEATURES[f]!;
    const v = reading[name]!;
    sum += v;
    contributions += `${f === 0 ? '' : ','}"${name}":${((v - 5) / 997).toFixed(6)}`;
  }
  const score = sum / 81.7;
  return (
    `{"machineId":"${machine}","ts":${reading['ts']},"score":${score},"severity":"ok",` +
    `"healthScore":${Math.round(100 * (1 - score))},"contributions":{${contributions}}` +
    RAW_PREDICTION_TAIL
  );
}

/**
 * The raw limit in core mode: a queue subscriber that, per reading, decodes the JSON and publishes
 * one prediction-sized document on the same connection (the runtime publishes one per reading; a raw
 * arm that only decodes skips the whole output side).
 */
async function rawCore(url: string): Promise<number> {
  const nc = await connect({ servers: url });
  let n = 0;
  const dec = new TextDecoder();
  nc.subscribe('bench.core.*.readings', {
    queue: 'raw',
    callback: (_e, m) => {
      const machine = m.subject.split('.')[2]!;
      const reading = JSON.parse(dec.decode(m.data)) as Record<string, number>;
      nc.publish(`bench.raw.predictions.${machine}`, rawPrediction(machine, reading));
      n++;
    },
  });
  await nc.flush();
  const publisher = spawnPublisher(url, 'readings', CORE_SECONDS);
  await sleep(CORE_WARMUP_SECONDS * 1000);
  const n0 = n;
  const t0 = performance.now();
  await sleep((CORE_SECONDS - CORE_WARMUP_SECONDS - 0.5) * 1000);
  const rate = (n - n0) / ((performance.now() - t0) / 1000);
  await publisher;
  await nc.close();
  return rate;
}

function spawnPublisher(url: string, kind: 'readings' | 'predictions', seconds: number): Promise<void> {
  const child = spawn(
    join(repoRoot, 'scripts/node24'),
    [new URL(import.meta.url).pathname, '--role', `publish-${kind}`, url, String(seconds)],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function runtimeCore(url: string, rt: RuntimeProcess): Promise<number> {
  const publisher = spawnPublisher(url, 'readings', CORE_SECONDS);
  await sleep(CORE_WARMUP_SECONDS * 1000);
  const handled = async () => metricValue(await rt.metrics(), 'prognos_inference_readings_total');
  const n0 = await handled();
  const t0 = performance.now();
  await sleep((CORE_SECONDS - CORE_WARMUP_SECONDS - 0.5) * 1000);
  const n1 = await handled();
  const rate = (n1 - n0) / ((performance.now() - t0) / 1000);
  await publisher;
  return rate;
}

/** Waits until the runtime has neither handled nor dropped a reading for 500 ms (at most 30 s). */
async function untilIdle(rt: RuntimeProcess): Promise<void> {
  const seen = async (): Promise<number> => {
    const text = await rt.metrics();
    return (
      metricValue(text, 'prognos_inference_readings_total') +
      metricValue(text, 'prognos_inference_dropped_total')
    );
  };
  let last = await seen();
  for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
    await sleep(500);
    const now = await seen();
    if (now === last) return;
    last = now;
  }
}

type Client = grpc.Client &
  Record<
    string,
    (req: unknown, opts: grpc.CallOptions, cb?: (e: grpc.ServiceError | null, r: unknown) => void) => unknown
  >;

function grpcClient(port: number): Client {
  const def = protoLoader.loadSync(PROTO_FILE, PROTO_LOADER_OPTIONS);
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    prognos: { inference: { v1: { InferenceService: grpc.ServiceClientConstructor } } };
  };
  return new pkg.prognos.inference.v1.InferenceService(
    `127.0.0.1:${port}`,
    grpc.credentials.createInsecure(),
  ) as unknown as Client;
}

function grpcReading(i: number): { machineId: string; tsMs: number; features: Record<string, number> } {
  const features: Record<string, number> = {};
  for (let f = 0; f < FEATURES.length; f++) features[FEATURES[f]!] = ((i * 3 + f) % 100) / 10;
  return { machineId: `g-${i % 1000}`, tsMs: Date.now(), features };
}

function call(client: Client, method: string, req: unknown): Promise<number> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    client[method]!(req, { deadline: Date.now() + 5000 }, (err) =>
      err ? reject(err) : resolve(performance.now() - start),
    );
  });
}

/** Latencies (ms) of `method` at UNARY_RATE calls per second, open loop (request i is due at start + i/rate). */
async function grpcUnary(
  client: Client,
  method = 'Predict',
  request: (i: number) => unknown = (i) => ({ reading: grpcReading(i) }),
): Promise<number[]> {
  for (let i = 0; i < 200; i++) await call(client, method, request(i));
  const latencies: number[] = [];
  const total = UNARY_RATE * UNARY_SECONDS;
  const start = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    // Open loop: request i is due at start + i/rate, whether or not earlier ones returned.
    const due = start + (i * 1000) / UNARY_RATE;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    inflight.push(call(client, method, request(i)).then((ms) => void latencies.push(ms)));
  }
  await Promise.all(inflight);
  return latencies;
}

/** The same load against grpc.health.v1 Check: the bare gRPC round trip on this machine, no scoring. */
async function grpcHealthUnary(port: number): Promise<number[]> {
  const def = protoLoader.loadSync(healthProtoPath, PROTO_LOADER_OPTIONS);
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
  };
  const client = new pkg.grpc.health.v1.Health(
    `127.0.0.1:${port}`,
    grpc.credentials.createInsecure(),
  ) as unknown as Client;
  try {
    return await grpcUnary(client, 'Check', () => ({ service: '' }));
  } finally {
    client.close();
  }
}

async function grpcBatch(client: Client): Promise<number[]> {
  const readings = Array.from({ length: 64 }, (_, i) => grpcReading(i));
  for (let i = 0; i < 30; i++) await call(client, 'PredictBatch', { readings });
  const latencies: number[] = [];
  for (let i = 0; i < BATCH_CALLS; i++) latencies.push(await call(client, 'PredictBatch', { readings }));
  return latencies;
}

type GrpcLoad = 'health' | 'unary' | 'batch';
interface LatencySummary {
  p50: number;
  p99: number;
  max: number;
}

/** The client side of a latency figure, in a process of its own (see grpcLoad). */
async function grpcLoadRole(port: number, what: GrpcLoad): Promise<void> {
  let latencies: number[];
  if (what === 'health') latencies = await grpcHealthUnary(port);
  else {
    const client = grpcClient(port);
    latencies = what === 'unary' ? await grpcUnary(client) : await grpcBatch(client);
    client.close();
  }
  const summary: LatencySummary = {
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: Math.max(...latencies),
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

/** A grpc-js server with nothing but grpc.health.v1, in a process of its own: the machine's gRPC floor. */
async function bareServerRole(): Promise<void> {
  const server = new grpc.Server();
  new HealthImplementation({ '': 'SERVING' }).addToServer(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  process.stdout.write(`${JSON.stringify({ port })}\n`);
  process.once('SIGTERM', () => server.forceShutdown());
}

async function bareServerHealth(): Promise<LatencySummary> {
  const child = spawn(
    join(repoRoot, 'scripts/node24'),
    [new URL(import.meta.url).pathname, '--role', 'grpc-bare-server'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.once('data', (c: Buffer) => resolve((JSON.parse(c.toString()) as { port: number }).port));
      child.once('exit', (code) => reject(new Error(`bare gRPC server exited with ${code}`)));
    });
    return await grpcLoad(port, 'health');
  } finally {
    child.kill('SIGTERM');
  }
}

/**
 * p99 latency of `what` as a fresh client process sees it: the benchmark's own process holds the
 * readings, stream state and NATS connection of the earlier phases, and its GC pauses would land in
 * the client's timings.
 */
async function grpcLoad(port: number, what: GrpcLoad): Promise<LatencySummary> {
  const child = spawn(
    join(repoRoot, 'scripts/node24'),
    [new URL(import.meta.url).pathname, '--role', `grpc-${what}`, String(port)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`grpc ${what} load exited with ${code}`);
  return JSON.parse(out.trim().split('\n').at(-1)!) as LatencySummary;
}

async function grpcStream(client: Client, url: string): Promise<number> {
  let received = 0;
  const stream = (
    client['StreamPredictions'] as unknown as (req: unknown) => grpc.ClientReadableStream<unknown>
  )({ fleet: 'bench-fleet' });
  stream.on('data', () => received++);
  stream.on('error', () => undefined);
  await sleep(300);
  const publisher = spawnPublisher(url, 'predictions', STREAM_SECONDS + 1);
  await sleep(700);
  const r0 = received;
  const t0 = performance.now();
  await sleep(STREAM_SECONDS * 1000 - 300);
  const rate = (received - r0) / ((performance.now() - t0) / 1000);
  await publisher;
  stream.cancel();
  return rate;
}

interface JetStreamRun {
  rawPerSec: number;
  runtimePerSec: number;
  ratio: number;
  eventLoop: { runtimeP99Ms: number; idleP99Ms: number; ratio: number };
  cpuUsPerReading: {
    jetstreamRaw: { consumer: number; natsServer: number };
    jetstreamRuntime: {
      mainThread: number;
      pipelineWorker: number;
      otherThreads: number;
      natsServer: number;
    };
  };
}

/**
 * One JetStream round: the raw arm drains durable raw-<r>, then a fresh runtime drains its own
 * durable while an idle Node process measures its event-loop delay over the same window.
 */
async function jetStreamRound(
  nc: NatsConnection,
  url: string,
  natsPid: number,
  r: number,
  startRuntime: () => Promise<RuntimeProcess>,
): Promise<{ run: JetStreamRun; rt: RuntimeProcess }> {
  const rawCpu0 = process.cpuUsage();
  const rawNats0 = processCpuMs(natsPid);
  const rawPerSec = await rawJetStream(url, nc, 'BENCH', `raw-${r}`);
  const rawCpu = process.cpuUsage(rawCpu0);
  const rawNatsMs = processCpuMs(natsPid) - rawNats0;
  await addDurable(nc, 'BENCH', `runtime-${r}`);
  const idle = await spawnIdleLag();
  const rt = await startRuntime();
  // A scrape resets the runtime's lag histogram; the idle one resets with it.
  await rt.metrics();
  idle.reset();
  const threads0 = threadCpuMs(rt.child.pid!);
  const rtNats0 = processCpuMs(natsPid);
  const runtimePerSec = await ackRate(nc, 'BENCH', `runtime-${r}`, JS_READINGS);
  const rtCpu = runtimeCpuPerReading(threads0, threadCpuMs(rt.child.pid!), JS_READINGS);
  const rtNatsMs = processCpuMs(natsPid) - rtNats0;
  const runtimeP99Ms =
    metricValue(await rt.metrics(), 'prognos_inference_event_loop_lag_seconds', '{quantile="0.99"}') * 1000;
  const idleP99Ms = await idle.report();
  const run: JetStreamRun = {
    rawPerSec: Math.round(rawPerSec),
    runtimePerSec: Math.round(runtimePerSec),
    ratio: round(runtimePerSec / rawPerSec),
    eventLoop: {
      runtimeP99Ms: round(runtimeP99Ms),
      idleP99Ms: round(idleP99Ms),
      ratio: round(runtimeP99Ms / idleP99Ms),
    },
    cpuUsPerReading: {
      jetstreamRaw: {
        // the bench process: consumer (decode + ack) plus a light ack-floor poll
        consumer: round((rawCpu.user + rawCpu.system) / JS_READINGS, 1),
        natsServer: round((rawNatsMs * 1000) / JS_READINGS, 1),
      },
      jetstreamRuntime: { ...rtCpu, natsServer: round((rtNatsMs * 1000) / JS_READINGS, 1) },
    },
  };
  return { run, rt };
}

function median(values: readonly number[]): number {
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const runsAt = process.argv.indexOf('--jetstream-runs');
  const jetstreamRuns = runsAt >= 0 ? Number(process.argv[runsAt + 1]) : 3;
  if (!Number.isInteger(jetstreamRuns) || jetstreamRuns < 1)
    throw new Error('--jetstream-runs takes a whole number of at least 1');
  const loadAtStart = loadavg()[0]!;
  const ticksAtStart = machineTicks();
  const dir = mkdtempSync(join(tmpdir(), 'prognos-bench-inference-'));
  const nats = await startNatsServer({ binary: (await ensureBinaries()).natsServer, dir: join(dir, 'nats') });
  const nc = await connect({ servers: nats.url });
  try {
    const { bytes } = buildMlpClassifier(randomLayers(LAYERS, 3), {
      baseline: { inputs: INPUTS, means: INPUTS.map(() => 5) },
    });
    const modelPath = join(dir, 'model.onnx');
    writeFileSync(modelPath, bytes);
    const sha = createHash('sha256').update(bytes).digest('hex');
    const writeConfig = (name: string, input: Record<string, unknown>): string => {
      const path = join(dir, `${name}.yaml`);
      writeFileSync(path, toYaml(benchConfig(nats.url, `file://${modelPath}`, sha, input)));
      return path;
    };

    // JetStream: rounds of raw arm then runtime arm, each on durables of their own over the same
    // stream, so the spread of the ratio on this shared machine shows within one invocation.
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'BENCH', subjects: ['bench.js.*.readings'] });
    log(`publishing ${JS_READINGS} readings to the stream`);
    await publishToStream(nc, JS_READINGS);
    const spawnJsRuntime = (durable: string): Promise<RuntimeProcess> =>
      spawnRuntime(
        writeConfig(durable, {
          mode: 'jetstream',
          subject: 'bench.js.*.readings',
          stream: 'BENCH',
          durable,
          machineId: { subjectToken: 3 },
        }),
      );
    const jsRuns: JetStreamRun[] = [];
    let jsRt: RuntimeProcess | undefined;
    let jsDurable = '';
    for (let r = 0; r < jetstreamRuns; r++) {
      if (jsRt) await jsRt.stop();
      jsDurable = `runtime-${r}`;
      const jsRound = await jetStreamRound(nc, nats.url, nats.pid, r, () => spawnJsRuntime(jsDurable));
      jsRt = jsRound.rt;
      jsRuns.push(jsRound.run);
      log(`jetstream run ${r + 1}: ${JSON.stringify(jsRound.run)}`);
    }
    // The last round's runtime stays up for the memory figure.
    const memRt = jsRt!;
    const rssAfterNewMachines = async (prefix: string, total: number): Promise<number> => {
      await publishToStream(nc, MEMORY_MACHINES, prefix, MEMORY_MACHINES);
      await ackRate(nc, 'BENCH', jsDurable, total);
      return metricValue(await memRt.metrics(), 'process_resident_memory_bytes');
    };
    const rssA = await rssAfterNewMachines('a', JS_READINGS + MEMORY_MACHINES);
    const rssB = await rssAfterNewMachines('b', JS_READINGS + 2 * MEMORY_MACHINES);
    const bytesPerMachine = (rssB - rssA) / MEMORY_MACHINES;
    log(`memory ${bytesPerMachine.toFixed(0)} bytes per machine`);
    await memRt.stop();

    // core NATS
    const coreRaw = await rawCore(nats.url);
    log(`core raw ${coreRaw.toFixed(0)}/s`);
    const coreRt = await spawnRuntime(
      writeConfig('core', {
        mode: 'core',
        subject: 'bench.core.*.readings',
        queueGroup: 'runtime',
        machineId: { subjectToken: 3 },
      }),
    );
    const coreRuntime = await runtimeCore(nats.url, coreRt);
    log(`core runtime ${coreRuntime.toFixed(0)}/s`);

    // gRPC, against the core-mode runtime once it is idle: after the flood it still reads (and
    // drops) what the server had queued for it, which would otherwise land in the gRPC figures.
    await untilIdle(coreRt);
    const bareHealth = await bareServerHealth();
    log(
      `grpc health Check ${JSON.stringify(bareHealth)} ms at ${UNARY_RATE}/s against a bare grpc-js server`,
    );
    const health = await grpcLoad(coreRt.grpcPort, 'health');
    log(`grpc health Check ${JSON.stringify(health)} ms at ${UNARY_RATE}/s`);
    const unary = await grpcLoad(coreRt.grpcPort, 'unary');
    log(`grpc unary ${JSON.stringify(unary)} ms at ${UNARY_RATE}/s`);
    const batch = await grpcLoad(coreRt.grpcPort, 'batch');
    log(`grpc batch(64) ${JSON.stringify(batch)} ms`);
    const client = grpcClient(coreRt.grpcPort);
    const streamPerSec = await grpcStream(client, nats.url);
    log(`grpc stream ${streamPerSec.toFixed(0)}/s`);
    client.close();
    await coreRt.stop();

    const ticksEnd = machineTicks();
    const ratios = jsRuns.map((r) => r.ratio);
    const lagRatios = jsRuns.map((r) => r.eventLoop.ratio);
    const medianOf = (pick: (r: JetStreamRun) => number, digits = 2): number =>
      round(median(jsRuns.map(pick)), digits);
    const jetstream = {
      ratio: round(median(ratios)),
      ratioMin: Math.min(...ratios),
      ratioMax: Math.max(...ratios),
      runs: jsRuns.map(({ rawPerSec, runtimePerSec, ratio }) => ({ rawPerSec, runtimePerSec, ratio })),
    };
    const eventLoop = {
      // p99 of monitorEventLoopDelay at the same 1 ms resolution on both sides, over the same
      // window: the runtime's main thread during each round's drain, and an idle Node process.
      // runtimeP99Ms and idleP99Ms are medians over the rounds; ratio is the median of the rounds' ratios.
      runtimeP99Ms: medianOf((r) => r.eventLoop.runtimeP99Ms),
      idleP99Ms: medianOf((r) => r.eventLoop.idleP99Ms),
      ratio: round(median(lagRatios)),
      ratioMin: Math.min(...lagRatios),
      ratioMax: Math.max(...lagRatios),
      resolutionMs: LAG_RESOLUTION_MS,
      runs: jsRuns.map((r) => r.eventLoop),
    };
    const coreRatio = round(coreRuntime / coreRaw);
    const unaryP99OverFloor = round(unary.p99 / bareHealth.p99);
    const unaryP50MinusFloorMs = round(unary.p50 - bareHealth.p50);
    const target = (value: number, op: '>=' | '<=', limit: number) => ({
      value,
      op,
      limit,
      pass: op === '>=' ? value >= limit : value <= limit,
    });
    const result = {
      jetstream,
      core: {
        rawPerSec: Math.round(coreRaw),
        runtimePerSec: Math.round(coreRuntime),
        ratio: coreRatio,
        // The raw arm decodes each reading and publishes one prediction-sized document for it.
        rawPublishes: true,
        rawPredictionSubject: 'bench.raw.predictions.<machine>',
        rawPredictionBytes: rawPrediction(
          'm-12345',
          JSON.parse(new TextDecoder().decode(readingBytes(12345).data)) as Record<string, number>,
        ).length,
      },
      grpc: {
        unaryP99Ms: round(unary.p99),
        unaryP50Ms: round(unary.p50),
        // The floors: grpc.health.v1 Check at the same rate against the same server (no scoring),
        // and against a grpc-js server doing nothing else, in a process of its own (the machine).
        healthCheckP99Ms: round(health.p99),
        bareServerHealthCheckP99Ms: round(bareHealth.p99),
        bareServerHealthCheckP50Ms: round(bareHealth.p50),
        // Predict against the bare server's Check at the same rate, measured in the same minute.
        unaryP99OverFloor,
        unaryP50MinusFloorMs,
        batch64P99Ms: round(batch.p99),
        batch64P50Ms: round(batch.p50),
        streamPerSec: Math.round(streamPerSec),
        streamOfferedPerSec: STREAM_OFFERED_PER_SEC,
      },
      memory: {
        bytesPerMachine: Math.round(bytesPerMachine),
        machines: MEMORY_MACHINES,
        features: FEATURES.length,
        windowSize: 60,
      },
      eventLoop,
      // CPU per reading in the JetStream rounds (/proc thread times; robust to a shared machine,
      // unlike rates): the median of each figure over the rounds, then each round's.
      cpuUsPerReading: {
        jetstreamRaw: {
          consumer: medianOf((r) => r.cpuUsPerReading.jetstreamRaw.consumer, 1),
          natsServer: medianOf((r) => r.cpuUsPerReading.jetstreamRaw.natsServer, 1),
        },
        jetstreamRuntime: {
          mainThread: medianOf((r) => r.cpuUsPerReading.jetstreamRuntime.mainThread, 1),
          pipelineWorker: medianOf((r) => r.cpuUsPerReading.jetstreamRuntime.pipelineWorker, 1),
          otherThreads: medianOf((r) => r.cpuUsPerReading.jetstreamRuntime.otherThreads, 1),
          natsServer: medianOf((r) => r.cpuUsPerReading.jetstreamRuntime.natsServer, 1),
        },
        runs: jsRuns.map((r) => r.cpuUsPerReading),
      },
      targets: {
        jetstreamRatio: target(jetstream.ratio, '>=', 0.8),
        coreRatio: target(coreRatio, '>=', 0.7),
        grpcUnaryP99OverFloor: target(unaryP99OverFloor, '<=', 1.5),
        grpcUnaryP50MinusFloorMs: target(unaryP50MinusFloorMs, '<=', 0.5),
        eventLoopLagRatio: target(eventLoop.ratio, '<=', 2),
      },
      // Figures are only comparable on a quiet machine: the load here is what the run competed with.
      host: {
        cpus: cpus().length,
        loadAverage1mAtStart: round(loadAtStart),
        // Time the hypervisor ran other guests instead of this VM: latency figures cannot beat it.
        stealPercent: round(
          (100 * (ticksEnd.steal - ticksAtStart.steal)) / (ticksEnd.total - ticksAtStart.total),
          1,
        ),
        loadAverage1mAtEnd: round(loadavg()[0]!),
      },
      settings: {
        jetstreamReadings: JS_READINGS,
        jetstreamRuns,
        machines: MACHINES,
        coreSeconds: CORE_SECONDS,
        unaryRate: UNARY_RATE,
        maxBatch: MAX_BATCH,
        maxDelayMs: 5,
        maxInFlight: IN_FLIGHT,
        ackPolicy: 'explicit, one ack per reading (both arms)',
      },
      model: {
        kind: 'MLP classifier (ONNX, onnxruntime-node, 1 intra-op thread, in the pipeline worker thread)',
        layers: LAYERS,
        inputs: INPUTS.length,
        windowInputs: INPUTS.filter((name) => name.includes('.')).length,
        explain: 'occlusion, one contribution per sensor feature',
        ortRowsPerReading: 1 + FEATURES.length,
      },
    };
    console.log(json ? JSON.stringify(result) : JSON.stringify(result, null, 2));
  } finally {
    await nc.close().catch(() => undefined);
    await nats.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const roleIndex = process.argv.indexOf('--role');
if (roleIndex >= 0) {
  const [role, target, seconds] = process.argv.slice(roleIndex + 1);
  if (role === 'grpc-bare-server') await bareServerRole();
  else if (role === 'idle-lag') await idleLagRole();
  else if (role?.startsWith('grpc-')) await grpcLoadRole(Number(target), role.slice(5) as GrpcLoad);
  else
    await publisherRole(
      target!,
      role === 'publish-predictions' ? 'predictions' : 'readings',
      Number(seconds),
    );
} else {
  await main();
}
