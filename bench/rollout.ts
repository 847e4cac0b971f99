// Rollout benchmark: `npm run bench:rollout -- --json [--runs N] [--rate 1000] [--machines 100]`.
//
// On a fresh local environment (etcd, kube-apiserver, kube-controller-manager, nats-server and the pod
// runner, which runs the operator's inference pods as local processes) with the operator in its own
// process (bench/operatorProcess.ts), a SensorFleet partitioned PARTITIONS ways (so 10% of the fleet
// is a whole number of partitions: the canary weight's grain, docs/rollouts.md) and one
// MaintenanceModel with a Canary rollout, while this process publishes a steady --rate readings/s over
// --machines machines on JetStream, one reading per machine per tick, at event time now:
// 1. cpu: the CPU of every inference pod process (/proc, by the pod runner's process groups) per
//    reading scored, stable-only, then with a good candidate holding 10% (a long pause step, aborted
//    afterwards): cpuPerReadingRatio (≤ 1.15).
// 2. promote: a good candidate (the stable's weights nudged by 1e-4: new bytes, the same scores)
//    through steps 10/50/100: promoteSeconds, from the spec change to the split (KV
//    `prognos-rollouts`) naming it stable alone.
// 3. rollback, one per fault: NaN outputs (an output bias of NaN), +20 ms per batch (a model whose
//    every run does a fixed ~20 ms of matrix work beside the same MLP, calibrated here), shifted scores
//    (an output bias of 40, scores ~1): rollbackSeconds, from the first prediction of the candidate to
//    the split back on the stable alone (≤ 30).
// Over everything: lostReadings (readings published and never scored, per phase; 0) and doubleScored
// (readings scored by two versions; 0), once the publisher stopped and the consumers drained.
// Human-readable progress goes to stderr; with --json, stdout gets exactly one JSON object.
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { KubeConfig, type KubernetesObject, type V1Pod } from '@kubernetes/client-node';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import * as ort from 'onnxruntime-node';
import { KubeClient } from '../operator/framework/kubeClient.ts';
import {
  buildMlpClassifier,
  buildSlowMlpClassifier,
  randomLayers,
  type DenseLayer,
  type RunWork,
} from '../contracts/onnx/buildModel.ts';
import { startEnvironment, type Environment } from '../test/cluster/environment.ts';
import { BENCH_FLEET, BENCH_NAMESPACE, fleetManifest, MODEL_INPUTS, modelManifest } from './benchObjects.ts';
import {
  gitCommit,
  installCrds,
  LEASE_NS,
  startOperator,
  stopOperator,
  type OperatorProcess,
} from './operatorProcess.ts';
import { machineTicks, processGroupCpuMs } from './procStats.ts';
import { denseForward } from '../contracts/onnx/referenceModels.ts';

const { values: flags } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    runs: { type: 'string', default: '1' },
    rate: { type: 'string', default: '1000' },
    machines: { type: 'string', default: '100' },
    partitions: { type: 'string', default: '20' },
    /** Length of each CPU window (stable-only, then at 10%). */
    'cpu-seconds': { type: 'string', default: '30' },
    'failure-limit': { type: 'string', default: '2' },
    /** Per-batch time the latency fault adds (the slow model is calibrated to it on this machine). */
    'added-latency-ms': { type: 'string', default: '22' },
    /** Keep the state directory (logs/, pods/<ns>_<pod>/ logs) instead of removing it. */
    keep: { type: 'boolean', default: false },
  },
});
const positive = (name: string): number => {
  const n = Number(flags[name as keyof typeof flags]);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name}: not a positive number`);
  return n;
};
const RUNS = positive('runs');
const RATE = positive('rate');
const MACHINES = positive('machines');
const PARTITIONS = positive('partitions');
const CPU_SECONDS = positive('cpu-seconds');
const FAILURE_LIMIT = positive('failure-limit');
const ADDED_LATENCY_MS = positive('added-latency-ms');

const NS = BENCH_NAMESPACE;
const MODEL = 'pumps-health';
const TICK_MS = 100;
const LIMITS = { cpuPerReadingRatio: 1.15, rollbackSeconds: 30, lostReadings: 0, doubleScored: 0 };
/** The latency check's limit: the stable's batches stay well under it, the slow model's go over. */
const MAX_P99_LATENCY_MS = 25;
const ANALYSIS = {
  interval: '10s',
  minSamples: 200,
  failureLimit: FAILURE_LIMIT,
  maxErrorRate: 0.01,
  maxScoreDivergence: 0.5,
  maxP99LatencyMs: MAX_P99_LATENCY_MS,
};
const STEPS = [
  { weight: 10, pause: '10s' },
  { weight: 50, pause: '10s' },
];

const log = (msg: string): void =>
  console.error(`[bench:rollout] ${new Date().toISOString().slice(11, 19)} ${msg}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

// ---------------------------------------------------------------- models

interface Artifact {
  version: string;
  uri: string;
  sha256: string;
}

function writeArtifact(dir: string, version: string, bytes: Uint8Array): Artifact {
  const path = join(dir, `${version}.onnx`);
  writeFileSync(path, bytes);
  return { version, uri: pathToFileURL(path).href, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** The reading of machine m at ts: vibration 2..12, temperature 60..68. */
const reading = (ts: number, m: number) => ({
  ts,
  vibration: 2 + ((ts + m * 3) % 11),
  temperature: 60 + ((ts + m) % 9),
});

/**
 * The stable's MLP, its output bias set so that the logit is centred over the readings: its scores
 * spread over (0, 1) instead of saturating at 1, so a shifted candidate's scores diverge from them.
 */
function stableLayers(): DenseLayer[] {
  const layers = randomLayers([MODEL_INPUTS.length, 8, 1], 1);
  let sum = 0;
  const n = 1000;
  for (let ts = 0; ts < n; ts++) {
    const r = reading(ts, 0);
    sum += denseForward(layers, [r.vibration, r.temperature, 7])[0]!; // vibration.mean: about 7
  }
  layers.at(-1)!.b[0] = layers.at(-1)!.b[0]! - sum / n;
  return layers;
}

/** The stable's layers with the output bias changed: a nudge (a good candidate), NaN or a shift. */
function withOutputBias(bias: (b: number) => number): DenseLayer[] {
  const layers = stableLayers();
  layers.at(-1)!.b[0] = bias(layers.at(-1)!.b[0]!);
  return layers;
}

/**
 * CPU milliseconds per run of a model in ONNX Runtime with one intra-op thread, as the runtime runs
 * it: CPU time, not wall time, so other work on a shared machine does not shrink the calibration.
 */
async function msPerRun(bytes: Uint8Array, rows: number): Promise<number> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const x = new ort.Tensor(
    'float32',
    Float32Array.from({ length: rows * MODEL_INPUTS.length }, (_, i) => i % 50),
    [rows, MODEL_INPUTS.length],
  );
  for (let i = 0; i < 3; i++) await session.run({ features: x });
  // The least of several chunks: a chunk that shared the cores with other work costs more CPU
  // (caches, frequency), never less.
  let best = Infinity;
  for (let chunk = 0; chunk < 6; chunk++) {
    const runs = 5;
    const before = process.cpuUsage();
    for (let i = 0; i < runs; i++) await session.run({ features: x });
    const used = process.cpuUsage(before);
    best = Math.min(best, (used.user + used.system) / 1000 / runs);
  }
  await session.release();
  return best;
}

/** The slow model's work, sized so one run costs ADDED_LATENCY_MS more CPU than the plain MLP here. */
async function calibrateSlowModel(): Promise<{ work: RunWork; addedMs: number }> {
  const probe: RunWork = { rows: 64, width: 1024, depth: 4 };
  const plainMs = await msPerRun(buildMlpClassifier(stableLayers()).bytes, 4);
  const probeMs = await msPerRun(buildSlowMlpClassifier(stableLayers(), probe).bytes, 4);
  const depth = Math.max(1, Math.round((probe.depth * ADDED_LATENCY_MS) / Math.max(0.01, probeMs - plainMs)));
  const work = { ...probe, depth };
  const addedMs = (await msPerRun(buildSlowMlpClassifier(stableLayers(), work).bytes, 4)) - plainMs;
  return { work, addedMs };
}

// ---------------------------------------------------------------- readings in, predictions out

/** Publishes RATE readings/s, one per machine per tick, and remembers each (machine/ts). */
class Publisher {
  readonly keys: string[] = [];
  #running = false;
  #loop: Promise<void> | undefined;
  #startedAt = 0;
  #lateTicks = 0;

  readonly #js: JetStreamClient;

  constructor(js: JetStreamClient) {
    this.#js = js;
  }

  start(): void {
    this.#running = true;
    this.#startedAt = performance.now();
    const perTick = Math.max(1, Math.round((RATE * TICK_MS) / 1000));
    const last = new Array<number>(MACHINES).fill(0);
    let machine = 0;
    this.#loop = (async () => {
      for (let tick = 0; this.#running; tick++) {
        const sends: Promise<unknown>[] = [];
        for (let k = 0; k < perTick; k++, machine = (machine + 1) % MACHINES) {
          // Event time now (a reading from the future is dead-lettered), strictly increasing per machine.
          const ts = Math.max(last[machine]! + 1, Date.now());
          last[machine] = ts;
          const id = `pump-${machine}`;
          this.keys.push(`${id}/${ts}`);
          sends.push(
            this.#js.publish(`plant.${BENCH_FLEET}.${id}.readings`, JSON.stringify(reading(ts, machine))),
          );
        }
        await Promise.all(sends);
        const wait = this.#startedAt + (tick + 1) * TICK_MS - performance.now();
        if (wait > 0) await sleep(wait);
        else this.#lateTicks += 1;
      }
    })();
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
  }

  /** Readings per second achieved since the start. */
  get rate(): number {
    return this.keys.length / ((performance.now() - this.#startedAt) / 1000);
  }

  get lateTicks(): number {
    return this.#lateTicks;
  }
}

interface Prediction {
  machineId: string;
  ts: number;
  modelVersion: string;
  role: string;
}

/**
 * Every prediction of the model: who scored each reading first (role and version; a reading the
 * fallback rules scored has version `fallback`, as a NaN output's), and readings two of them scored.
 */
class Predictions {
  readonly scorerOf = new Map<string, string>();
  readonly doubles = new Set<string>();
  /** Readings scored so far (each counted once), in all and by the role that scored it first. */
  scored = 0;
  readonly scoredBy: Record<string, number> = {};
  #canary: { firstAt?: number } | undefined;

  constructor(nc: NatsConnection) {
    nc.subscribe(`prognos.predictions.${NS}.${MODEL}.>`, {
      callback: (_err, msg) => {
        const p = msg.json<Prediction>();
        const key = `${p.machineId}/${p.ts}`;
        const scorer = `${p.role}/${p.modelVersion}`;
        const before = this.scorerOf.get(key);
        if (before === undefined) {
          this.scorerOf.set(key, scorer);
          this.scored += 1;
          this.scoredBy[p.role] = (this.scoredBy[p.role] ?? 0) + 1;
        } else if (before !== scorer) this.doubles.add(key);
        if (this.#canary && this.#canary.firstAt === undefined && p.role === 'canary')
          this.#canary.firstAt = Date.now();
      },
    });
  }

  /** From now on (no canary pod left), remembers when a canary first scored a reading. */
  watchCanary(): { firstAt?: number } {
    this.#canary = {};
    return this.#canary;
  }
}

// ---------------------------------------------------------------- the cluster

interface Split {
  stable?: { version: string };
  canary?: { version: string; weight: number; partitions: number };
}

interface ModelStatus {
  phase?: string;
  stable?: { version?: string };
  canary?: { weight?: number };
  rollout?: {
    target?: { version?: string };
    results?: { verdict: string; p99LatencyMs?: number; message?: string }[];
  };
  rolledBack?: { version?: string; reason?: string; message?: string };
  conditions?: { type: string; status: string; reason?: string }[];
}

interface Bench {
  env: Environment;
  client: KubeClient;
  kv: KV;
  predictions: Predictions;
  publisher: Publisher;
}

const MODEL_REF = {
  apiVersion: 'prognos.dev/v1alpha1',
  kind: 'MaintenanceModel',
  namespace: NS,
  name: MODEL,
};

async function modelStatus(b: Bench): Promise<ModelStatus> {
  return ((await b.client.get<KubernetesObject & { status?: ModelStatus }>(MODEL_REF))?.status ??
    {}) as ModelStatus;
}

async function split(b: Bench): Promise<Split | undefined> {
  const entry = await b.kv.get(`${NS}.${MODEL}`);
  return entry && entry.operation === 'PUT' ? entry.json<Split>() : undefined;
}

async function until<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs: number,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Points spec.model at `artifact` (with `steps`): the operator starts a canary rollout. */
async function rollTo(
  b: Bench,
  artifact: Artifact,
  steps: { weight: number; pause: string }[],
): Promise<void> {
  await b.client.patch(
    MODEL_REF,
    {
      spec: {
        model: { ...artifact, inputs: MODEL_INPUTS },
        rollout: { strategy: 'Canary', steps, analysis: ANALYSIS },
      },
    },
    'application/merge-patch+json',
  );
}

const runningPods = async (b: Bench, role: string): Promise<V1Pod[]> =>
  (
    await b.client.list<V1Pod>(
      { apiVersion: 'v1', kind: 'Pod' },
      { namespace: NS, labelSelector: `prognos.dev/role=${role}` },
    )
  ).items.filter((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp);

/** Waits until no canary pod is left (a rolled-back canary keeps its pods 30 s, docs/rollouts.md). */
async function canaryGone(b: Bench): Promise<void> {
  await until(
    'the canary pods gone',
    async () =>
      (
        await b.client.list<V1Pod>(
          { apiVersion: 'v1', kind: 'Pod' },
          { namespace: NS, labelSelector: 'prognos.dev/role=canary' },
        )
      ).items.length === 0,
    120_000,
    1_000,
  );
}

/** The process group of each running pod's containers (the pod runner's pid files, pods/<uid>/pids/). */
function podGroups(b: Bench, pods: V1Pod[]): Set<number> {
  const groups = new Set<number>();
  for (const pod of pods) {
    const dir = join(b.env.stateDir, 'pods', pod.metadata!.uid!, 'pids');
    for (const file of readdirSync(dir)) groups.add(Number(readFileSync(join(dir, file), 'utf8')));
  }
  return groups;
}

interface CpuWindow {
  /** CPU of every inference pod over the readings scored (by any role) in the window. */
  cpuUsPerReading: number;
  /** The same CPU by role, over the same (whole fleet's) readings. */
  byRole: Record<string, number>;
  /** CPU ms per second each role's pods spent. */
  cpuMsPerSecond: Record<string, number>;
  /** Share of the readings each role scored. */
  readingShare: Record<string, number>;
  pods: Record<string, number>;
  readingsPerSecond: number;
}

/** The inference pods' CPU per reading scored over `seconds`, in all and by role. */
async function cpuWindow(b: Bench, label: string, seconds = CPU_SECONDS): Promise<CpuWindow> {
  const roles = ['stable', 'canary'];
  const groupsOf = new Map<string, Set<number>>();
  for (const role of roles) groupsOf.set(role, podGroups(b, await runningPods(b, role)));
  const all = new Set([...groupsOf.values()].flatMap((g) => [...g]));
  const cpuOf = (m: Map<number, number>, role: string) =>
    [...groupsOf.get(role)!].reduce((sum, g) => sum + (m.get(g) ?? 0), 0);
  const cpu0 = processGroupCpuMs(all);
  const scored0 = { ...b.predictions.scoredBy };
  const total0 = b.predictions.scored;
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const cpu1 = processGroupCpuMs(all);
  const elapsed = (performance.now() - t0) / 1000;
  if (cpu1.size !== cpu0.size) throw new Error(`${label}: a pod process ended during the CPU window`);
  const readings = b.predictions.scored - total0;
  const byRole: Record<string, number> = {};
  const cpuMsPerSecond: Record<string, number> = {};
  const readingShare: Record<string, number> = {};
  const pods: Record<string, number> = {};
  let cpuMs = 0;
  for (const role of roles) {
    if (groupsOf.get(role)!.size === 0) continue;
    const ms = cpuOf(cpu1, role) - cpuOf(cpu0, role);
    cpuMs += ms;
    byRole[role] = readings > 0 ? round((ms * 1000) / readings, 1) : 0;
    cpuMsPerSecond[role] = round(ms / elapsed, 1);
    readingShare[role] =
      readings > 0 ? round(((b.predictions.scoredBy[role] ?? 0) - (scored0[role] ?? 0)) / readings, 3) : 0;
    pods[role] = groupsOf.get(role)!.size;
  }
  const cpuUsPerReading = readings > 0 ? (cpuMs * 1000) / readings : 0;
  log(
    `${label}: ${cpuUsPerReading.toFixed(1)} µs CPU per reading (${JSON.stringify(byRole)}), ${JSON.stringify(cpuMsPerSecond)} ms/s, ${(readings / elapsed).toFixed(0)} readings/s scored`,
  );
  return {
    cpuUsPerReading: round(cpuUsPerReading, 1),
    byRole,
    cpuMsPerSecond,
    readingShare,
    pods,
    readingsPerSecond: Math.round(readings / elapsed),
  };
}

/** A stretch of the run: the readings published in it are `keys[fromKey, toKey)`. */
interface Phase {
  name: string;
  fromKey: number;
  toKey?: number;
}

async function cpuPhase(
  b: Bench,
  candidate: Artifact,
): Promise<{ stableOnly: CpuWindow; canary: CpuWindow }> {
  const stableOnly = await cpuWindow(b, 'stable only');
  await rollTo(b, candidate, [{ weight: 10, pause: '30m' }]);
  await until(
    'the candidate at 10% with its pods running',
    async () => (await split(b))?.canary?.weight === 10 && (await runningPods(b, 'canary')).length > 0,
    180_000,
    500,
  );
  await sleep(15_000); // its first analysis interval, its JIT warm
  const canary = await cpuWindow(b, 'canary at 10%');
  await b.client.patch(
    MODEL_REF,
    { metadata: { annotations: { 'prognos.dev/abort': 'now' } } },
    'application/merge-patch+json',
  );
  await until(
    'the split back on the stable after abort',
    async () => (await split(b))?.canary === undefined,
    60_000,
  );
  await canaryGone(b);
  return { stableOnly, canary };
}

/**
 * The CPU figures: the ratio as measured, and with what an idle pod costs (telemetry, heartbeats,
 * pulls; measured after the run, readings stopped) taken out of each pod, to show what the canary's
 * share of readings costs beyond having pods at all.
 */
function cpuFigures(w: { stableOnly: CpuWindow; canary: CpuWindow }, idle: CpuWindow) {
  const idleUsPerReading = ((idle.cpuMsPerSecond['stable'] ?? 0) * 1000) / RATE;
  const busy = (x: CpuWindow) =>
    x.cpuUsPerReading - idleUsPerReading * Object.values(x.pods).reduce((a, c) => a + c, 0);
  return {
    idlePodCpuMsPerSecond: idle.cpuMsPerSecond['stable'] ?? 0,
    idlePodUsPerReading: round(idleUsPerReading, 1),
    stableOnly: w.stableOnly,
    canary10: w.canary,
    cpuPerReadingRatio: round(w.canary.cpuUsPerReading / w.stableOnly.cpuUsPerReading),
    cpuPerReadingRatioIdleTakenOut: round(busy(w.canary) / busy(w.stableOnly)),
  };
}

async function promotePhase(b: Bench, candidate: Artifact) {
  const t0 = Date.now();
  await rollTo(b, candidate, STEPS);
  const weights = new Set<number>();
  await until(
    `${candidate.version} stable alone in the split`,
    async () => {
      const s = await split(b);
      if (s?.canary) weights.add(s.canary.weight);
      return s?.stable?.version === candidate.version && s.canary === undefined;
    },
    600_000,
  );
  const promoteSeconds = (Date.now() - t0) / 1000;
  const status = await modelStatus(b);
  log(
    `promote: ${promoteSeconds.toFixed(1)} s through weights ${[...weights].join('/')}, phase ${status.phase}`,
  );
  await canaryGone(b);
  return { promoteSeconds: round(promoteSeconds, 1), weightsSeen: [...weights] };
}

async function rollbackPhase(b: Bench, fault: string, candidate: Artifact, stable: string) {
  const first = b.predictions.watchCanary();
  const t0 = Date.now();
  await rollTo(b, candidate, STEPS);
  let canarySeen = false;
  await until(
    `${fault}: the split back on ${stable}`,
    async () => {
      const s = await split(b);
      if (s?.canary?.version === candidate.version) canarySeen = true;
      return canarySeen && s !== undefined && s.canary === undefined && s.stable?.version === stable;
    },
    300_000,
  );
  const backAt = Date.now();
  const status = await until(
    `${fault}: status.rolledBack`,
    async () => {
      const s = await modelStatus(b);
      return s.rolledBack?.version === candidate.version ? s : undefined;
    },
    60_000,
    500,
  );
  const rollbackSeconds = first.firstAt === undefined ? Infinity : (backAt - first.firstAt) / 1000;
  log(
    `rollback ${fault}: ${rollbackSeconds.toFixed(1)} s from the first canary prediction (${((backAt - t0) / 1000).toFixed(1)} s from the spec change): ${status.rolledBack?.message}`,
  );
  await canaryGone(b);
  return {
    rollbackSeconds: round(rollbackSeconds, 1),
    fromSpecChangeSeconds: round((backAt - t0) / 1000, 1),
    reason: status.rolledBack?.reason,
    message: status.rolledBack?.message,
  };
}

/** After the publisher stopped: waits until every reading is scored, or no more arrive for 45 s. */
async function drain(b: Bench): Promise<void> {
  let last = -1;
  let stillSince = Date.now();
  while (b.predictions.scorerOf.size < b.publisher.keys.length && Date.now() - stillSince < 45_000) {
    if (b.predictions.scorerOf.size !== last) {
      last = b.predictions.scorerOf.size;
      stillSince = Date.now();
    }
    await sleep(500);
  }
}

/** Pending, unacknowledged and redelivered messages per consumer of the fleet's streams. */
async function consumerBacklog(nc: NatsConnection): Promise<Record<string, number[]>> {
  const jsm = await jetstreamManager(nc);
  const out: Record<string, number[]> = {};
  for await (const s of jsm.streams.list())
    for await (const c of jsm.consumers.list(s.config.name))
      out[c.name] = [c.num_pending, c.num_ack_pending, c.num_redelivered];
  return out;
}

/** Every value the split took, with the ms since the run's start (KV watch). */
async function watchSplit(kv: KV, t0: number): Promise<{ atMs: number; split: Split | null }[]> {
  const changes: { atMs: number; split: Split | null }[] = [];
  const watcher = await kv.watch({ key: `${NS}.${MODEL}` });
  void (async () => {
    for await (const e of watcher)
      changes.push({ atMs: Date.now() - t0, split: e.operation === 'PUT' ? e.json<Split>() : null });
  })();
  return changes;
}

// ---------------------------------------------------------------- one run

// Ctrl-C / SIGTERM: stop the publisher, the operator and the environment before leaving, never orphan them.
const interrupted = new Promise<never>((_, reject) => {
  const onSignal = (signal: string) => reject(new Error(`interrupted by ${signal}`));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
});
interrupted.catch(() => undefined);

async function run(index: number, slow: { work: RunWork; addedMs: number }) {
  const dir = mkdtempSync(join(tmpdir(), 'prognos-bench-rollout-'));
  let env: Environment | undefined;
  let op: OperatorProcess | undefined;
  let nc: NatsConnection | undefined;
  let publisher: Publisher | undefined;
  let envStarting: Promise<Environment> | undefined;
  const ticks0 = machineTicks();
  const load0 = loadavg()[0]!;
  const measure = async () => {
    log(`run ${index}: environment in ${dir}`);
    envStarting = startEnvironment({ stateDir: dir });
    env = await envStarting;
    const kc = new KubeConfig();
    kc.loadFromFile(env.kubeconfig);
    const client = new KubeClient(kc);
    await installCrds(env);
    for (const name of [NS, LEASE_NS])
      await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    await startOperator(env, dir, (spawned) => (op = spawned));

    const layers = stableLayers();
    const artifacts = {
      stable: writeArtifact(dir, 'v1', buildMlpClassifier(layers).bytes),
      cpuCandidate: writeArtifact(dir, 'v1-cpu', buildMlpClassifier(withOutputBias((b) => b + 2e-4)).bytes),
      good: writeArtifact(dir, 'v2', buildMlpClassifier(withOutputBias((b) => b + 1e-4)).bytes),
      nan: writeArtifact(dir, 'v3-nan', buildMlpClassifier(withOutputBias(() => NaN)).bytes),
      slow: writeArtifact(dir, 'v3-slow', buildSlowMlpClassifier(layers, slow.work).bytes),
      shifted: writeArtifact(dir, 'v3-shifted', buildMlpClassifier(withOutputBias((b) => b + 40)).bytes),
    };

    await client.create(fleetManifest(env.natsUrl, { partitions: PARTITIONS }));
    await client.create(
      modelManifest(
        MODEL,
        artifacts.stable,
        {},
        { rollout: { strategy: 'Canary', steps: STEPS, analysis: ANALYSIS } },
      ),
    );
    nc = await connect({ servers: env.natsUrl });
    const kv = await new Kvm(nc).open('prognos-rollouts');
    const runStart = Date.now();
    publisher = new Publisher(jetstream(nc));
    const b: Bench = { env, client, kv, predictions: new Predictions(nc), publisher };
    await until(
      'the stable serving',
      async () => (await modelStatus(b)).conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      180_000,
      500,
    );
    await until(
      'the stable pod running',
      async () => (await runningPods(b, 'stable')).length > 0,
      60_000,
      500,
    );
    log(`run ${index}: v1 serves; publishing ${RATE} readings/s over ${MACHINES} machines`);
    // The operator made the bucket by now (the stable's split).
    const splitChanges = await until('the split bucket', () => watchSplit(kv, runStart), 30_000, 500);
    publisher.start();
    const phases: Phase[] = [];
    const begin = (name: string) => {
      const prev = phases.at(-1);
      if (prev) prev.toKey = publisher!.keys.length;
      phases.push({ name, fromKey: publisher!.keys.length });
    };
    begin('warmup');
    await sleep(15_000);
    begin('cpu');
    const cpuWindows = await cpuPhase(b, artifacts.cpuCandidate);
    begin('promote');
    const promote = await promotePhase(b, artifacts.good);
    const rollbacks: Record<string, Awaited<ReturnType<typeof rollbackPhase>>> = {};
    for (const fault of ['nan', 'slow', 'shifted'] as const) {
      begin(`rollback-${fault}`);
      rollbacks[fault] = await rollbackPhase(b, fault, artifacts[fault], artifacts.good.version);
    }
    const achievedRate = publisher.rate;
    const lateTicks = publisher.lateTicks;
    await publisher.stop();
    phases.at(-1)!.toKey = publisher.keys.length;
    log(
      `run ${index}: publisher stopped at ${achievedRate.toFixed(0)} readings/s (${lateTicks} late ticks); draining`,
    );
    await drain(b);
    const lostBy: Record<string, number> = {};
    for (const p of phases)
      lostBy[p.name] = publisher.keys
        .slice(p.fromKey, p.toKey)
        .filter((k) => !b.predictions.scorerOf.has(k)).length;
    const lostReadings = Object.values(lostBy).reduce((a, c) => a + c, 0);
    const doubleScored = b.predictions.doubles.size;
    // What a loss looks like: which readings (machine/ts, ms since the start) and where the consumers stand.
    const lost = publisher.keys.filter((k) => !b.predictions.scorerOf.has(k));
    const lostSample = lost.slice(0, 20).map((k) => `${k} (+${Number(k.split('/')[1]) - runStart} ms)`);
    const lostMachines = [...new Set(lost.map((k) => k.split('/')[0]!))];
    const backlog = lost.length > 0 ? await consumerBacklog(nc) : undefined;
    if (lost.length > 0)
      log(
        `lost: machines ${lostMachines.join(', ')}; e.g. ${lostSample.join(', ')}; consumers [pending, unacked, redelivered] ${JSON.stringify(backlog)}; split changes ${JSON.stringify(splitChanges)}`,
      );
    const idle = await cpuWindow(b, 'idle (no readings, after the run)', 15);
    const cpu = cpuFigures(cpuWindows, idle);
    log(
      `run ${index}: ${publisher.keys.length} readings, lost ${lostReadings} ${JSON.stringify(lostBy)}, double-scored ${doubleScored}`,
    );
    const ticks1 = machineTicks();
    return {
      readings: publisher.keys.length,
      achievedReadingsPerSecond: Math.round(achievedRate),
      lateTicks,
      lostReadings,
      lostReadingsByPhase: lostBy,
      doubleScored,
      ...(lost.length > 0
        ? { lost: { machines: lostMachines, sample: lostSample, consumers: backlog } }
        : {}),
      splitChanges: splitChanges.map((c) => ({ atSeconds: round(c.atMs / 1000, 1), split: c.split })),
      promoteSeconds: promote.promoteSeconds,
      promoteWeights: promote.weightsSeen,
      rollbackSeconds: Object.fromEntries(Object.entries(rollbacks).map(([k, v]) => [k, v.rollbackSeconds])),
      rollbackFromSpecChangeSeconds: Object.fromEntries(
        Object.entries(rollbacks).map(([k, v]) => [k, v.fromSpecChangeSeconds]),
      ),
      rollbackMessages: Object.fromEntries(Object.entries(rollbacks).map(([k, v]) => [k, v.message])),
      cpu,
      host: {
        loadAverage1mAtStart: round(load0),
        loadAverage1mAtEnd: round(loadavg()[0]!),
        stealPercent: round((100 * (ticks1.steal - ticks0.steal)) / (ticks1.total - ticks0.total), 1),
      },
    };
  };
  try {
    return await Promise.race([measure(), interrupted]);
  } finally {
    env ??= await envStarting?.catch(() => undefined);
    await publisher?.stop().catch(() => undefined);
    await nc?.close().catch(() => undefined);
    await stopOperator(op).catch((e: unknown) => log(`stopping the operator: ${String(e)}`));
    await env?.stop().catch((e: unknown) => log(`stopping the environment: ${String(e)}`));
    if (flags.keep) log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- main

type RunResult = Awaited<ReturnType<typeof run>>;

const spreadOf = (xs: number[]) => ({ min: Math.min(...xs), max: Math.max(...xs), runs: xs });

function target(value: number, op: '<=' | '==', limit: number) {
  return {
    value,
    op,
    limit,
    // How far the figure is from its limit (≤ 1 meets a maximum); none for a limit of 0.
    ratioToTarget: limit === 0 ? null : round(value / limit),
    pass: op === '<=' ? value <= limit : value === limit,
  };
}

async function main(): Promise<void> {
  const commit = gitCommit();
  const slow = await calibrateSlowModel();
  log(`slow model: ${JSON.stringify(slow.work)} adds ${slow.addedMs.toFixed(1)} ms per run`);
  const runs: RunResult[] = [];
  for (let i = 1; i <= RUNS; i++) runs.push(await run(i, slow));
  const worst = (pick: (r: RunResult) => number) => Math.max(...runs.map(pick));
  const faults = ['nan', 'slow', 'shifted'];
  const result = {
    benchmark: 'rollout',
    date: new Date().toISOString(),
    commit,
    setup: {
      readingsPerSecond: RATE,
      machines: MACHINES,
      partitions: PARTITIONS,
      stream: "JetStream, one pinned_client consumer per partition (the operator's)",
      replicas: { stable: 1, canary: 1 },
      steps: STEPS,
      analysis: ANALYSIS,
      model: `MLP classifier [${MODEL_INPUTS.length}, 8, 1] over ${MODEL_INPUTS.join(', ')}, occlusion contributions`,
      faults: {
        nan: 'output bias NaN: every output NaN, scored by the fallback rules (errorRate)',
        slow: `the same MLP plus ${JSON.stringify(slow.work)} of matrix work per run (+${round(slow.addedMs, 1)} ms per run here, one thread)`,
        shifted: 'output bias 40: every score ~1 (scoreDivergence)',
      },
      cpuWindowSeconds: CPU_SECONDS,
    },
    runs,
    // Each figure's worst run against its target; the spread over the runs beside it.
    lostReadings: spreadOf(runs.map((r) => r.lostReadings)),
    doubleScored: spreadOf(runs.map((r) => r.doubleScored)),
    promoteSeconds: spreadOf(runs.map((r) => r.promoteSeconds)),
    rollbackSeconds: Object.fromEntries(
      faults.map((f) => [f, spreadOf(runs.map((r) => r.rollbackSeconds[f]!))]),
    ),
    cpuPerReadingRatio: spreadOf(runs.map((r) => r.cpu.cpuPerReadingRatio)),
    achievedReadingsPerSecond: spreadOf(runs.map((r) => r.achievedReadingsPerSecond)),
    targets: {
      lostReadings: target(
        worst((r) => r.lostReadings),
        '==',
        LIMITS.lostReadings,
      ),
      doubleScored: target(
        worst((r) => r.doubleScored),
        '==',
        LIMITS.doubleScored,
      ),
      ...Object.fromEntries(
        faults.map((f) => [
          `rollbackSeconds.${f}`,
          target(
            worst((r) => r.rollbackSeconds[f]!),
            '<=',
            LIMITS.rollbackSeconds,
          ),
        ]),
      ),
      cpuPerReadingRatio: target(
        worst((r) => r.cpu.cpuPerReadingRatio),
        '<=',
        LIMITS.cpuPerReadingRatio,
      ),
    },
    host: {
      cpus: cpus().length,
      cores: availableParallelism(),
      cpu: cpus()[0]?.model ?? 'unknown',
      node: process.version,
    },
  };
  if (flags.json) console.log(JSON.stringify(result));
  else {
    console.log(
      `bench:rollout, ${RUNS} run(s) at ${RATE} readings/s over ${MACHINES} machines, ${PARTITIONS} partitions (commit ${commit})`,
    );
    for (const [i, r] of runs.entries())
      console.log(
        `run ${i + 1}: ${r.achievedReadingsPerSecond} readings/s achieved; lost ${r.lostReadings}, double-scored ${r.doubleScored}; ` +
          `promote ${r.promoteSeconds} s; rollback nan ${r.rollbackSeconds['nan']} s, slow ${r.rollbackSeconds['slow']} s, shifted ${r.rollbackSeconds['shifted']} s; ` +
          `CPU per reading ${r.cpu.stableOnly.cpuUsPerReading} µs stable-only, ${r.cpu.canary10.cpuUsPerReading} µs at 10% (×${r.cpu.cpuPerReadingRatio})`,
      );
    for (const [name, t] of Object.entries(result.targets))
      console.log(`${t.pass ? 'meets' : 'MISSES'} ${name}: ${t.value} (target ${t.op} ${t.limit})`);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  // The environment is stopped by now; an interrupted phase may still hold timers or sockets open.
  process.exit(1);
});
