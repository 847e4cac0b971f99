// Operator control-plane benchmark: `npm run bench:operator -- --json [--sizes 100,500,1000] [--idle-seconds 300] [--distinct-artifacts 50]`.
//
// On a fresh local environment (etcd, kube-apiserver, kube-controller-manager, nats-server; the pod
// runner OFF, so only the control plane is measured) with the operator in its own process
// (operator/main.ts with --leader-elect and config/manager's NODE_OPTIONS, as it is deployed):
// - convergeSeconds per N: one SensorFleet, then N MaintenanceModels with a real ONNX artifact
//   (file://, sha256) created by 32 concurrent POSTs; the time from the first create until every model
//   of the batch has status.observedGeneration == metadata.generation and its ConfigMap, Deployment
//   and Service exist (one replica each, the default: no PodDisruptionBudget, see
//   podDisruptionBudget.ts). Batches run one after another in one namespace and stay (so the last one
//   converges next to the earlier, idle ones).
// - idle writes: after the last batch, apiserver_request_total (the API server's /metrics, read with
//   the admin client certificate) before and after an idle window, write verbs only
//   (POST/PUT/PATCH/DELETE/APPLY), by resource, so lease renewals are told apart from churn.
// - memory: the operator's VmRSS (/proc/<pid>/status) after two forced GCs (bench/memoryProbe.ts,
//   SIGUSR2), at baseline (fleet reconciled, 0 models) and after each batch.
// - distinctArtifacts (with --distinct-artifacts N): N models created at once, each with its own
//   artifact, so each needs its own load check (a Node + ONNX Runtime child process): seconds until
//   all are ArtifactVerified=True, how many were seen waiting (VerificationQueued), the most load
//   checks seen at once, and peak memory: the operator's VmHWM and the peak RSS of the operator with
//   its children (sampled every 100 ms from /proc).
// Human-readable progress goes to stderr; with --json, stdout gets exactly one JSON object.
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { KubeClient } from '../operator/framework/kubeClient.ts';
import { buildMlpClassifier, randomLayers } from '../contracts/onnx/buildModel.ts';
import { startEnvironment, type Environment } from '../test/cluster/environment.ts';
import { DEFAULT_MODEL_WORKERS } from '../operator/prognosOperator.ts';
import {
  BENCH_NAMESPACE,
  childCpuSeconds,
  fleetManifest,
  MODEL_INPUTS,
  modelManifest,
} from './benchObjects.ts';
import {
  deployedNodeOptions,
  fetchText,
  gitCommit,
  installCrds,
  LEASE_NS,
  parseMetrics,
  startOperator,
  stopOperator,
  type OperatorProcess,
} from './operatorProcess.ts';

const { values: flags } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    sizes: { type: 'string', default: '100,500,1000' },
    'idle-seconds': { type: 'string', default: '300' },
    'settle-seconds': { type: 'string', default: '15' },
    'create-concurrency': { type: 'string', default: '32' },
    'timeout-seconds': { type: 'string', default: '600' },
    /** The operator's --model-workers (default: the operator's own default). */
    'model-workers': { type: 'string' },
    /** Also run the distinct-artifacts phase with this many models, each with its own artifact. */
    'distinct-artifacts': { type: 'string', default: '0' },
    /** Keep the state directory (logs, including logs/operator.log) instead of removing it. */
    keep: { type: 'boolean', default: false },
  },
});
const SIZES = flags.sizes.split(',').map((s) => {
  const n = Number(s.trim());
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--sizes: not a positive integer: ${s}`);
  return n;
});
const IDLE_SECONDS = Number(flags['idle-seconds']);
const SETTLE_SECONDS = Number(flags['settle-seconds']);
const CREATE_CONCURRENCY = Number(flags['create-concurrency']);
const CONVERGE_TIMEOUT_MS = Number(flags['timeout-seconds']) * 1000;

const QUIET_SECONDS = 15;
const QUIESCE_TIMEOUT_MS = 300_000;
const NS = BENCH_NAMESPACE;
const BATCH_LABEL = 'bench.prognos.dev/batch';
const WRITE_VERBS = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'APPLY']);

const log = (msg: string): void => console.error(`[bench:operator] ${msg}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (x: number, digits = 2): number => Number(x.toFixed(digits));
const seconds = (ms: number): number => round(ms / 1000, 2);

/** API write requests so far, by "group/resource[/subresource] VERB". */
async function apiWrites(env: Environment, kc: KubeConfig): Promise<Map<string, number>> {
  const opts: RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  const { status, text } = await fetchText(`${env.apiServerUrl}/metrics`, opts);
  if (status !== 200) throw new Error(`API server /metrics: HTTP ${status}`);
  const writes = new Map<string, number>();
  for (const s of parseMetrics(text, 'apiserver_request_total')) {
    const verb = s.labels['verb'] ?? '';
    if (!WRITE_VERBS.has(verb)) continue;
    const group = s.labels['group'] || 'core';
    const sub = s.labels['subresource'] ? `/${s.labels['subresource']}` : '';
    // Rejected writes (e.g. the API server's own endpoints reconciler answered 422) are told apart.
    const code = s.labels['code'] ?? '';
    const rejected = code.startsWith('2') ? '' : ` ${code}`;
    const key = `${group}/${s.labels['resource']}${sub} ${verb}${rejected}`;
    writes.set(key, (writes.get(key) ?? 0) + s.value);
  }
  return writes;
}

function writesDelta(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0);
    if (d > 0) out[k] = d;
  }
  return Object.fromEntries(Object.entries(out).sort((a, b) => b[1] - a[1]));
}

const total = (r: Record<string, number>, filter: (k: string) => boolean = () => true): number =>
  Object.entries(r).reduce((s, [k, v]) => (filter(k) ? s + v : s), 0);
const isLease = (k: string): boolean => k.startsWith('coordination.k8s.io/leases');
const isRejected = (k: string): boolean => /\s\d{3}$/.test(k);

// ---------------------------------------------------------------- CPU of the processes this run started

/** CPU seconds so far of each process of the run: etcd, kube-apiserver, controller manager, nats, operator, bench. */
function runCpuSeconds(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [comm, seconds] of Object.entries(childCpuSeconds())) {
    const name = comm === 'MainThread' || comm === 'node' ? 'operator' : comm;
    out[name] = (out[name] ?? 0) + seconds;
  }
  out['bench'] = process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6;
  return out;
}

function cpuDelta(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(b)
      .map(([k, v]) => [k, round(v - (a[k] ?? 0), 1)] as const)
      .filter(([, v]) => v > 0)
      .sort((x, y) => y[1] - x[1]),
  );
}

interface Memory {
  /** RSS after two full GCs (what the pod holds now). */
  rssBytes: number;
  /** RSS after a further memory-reducing GC (young generation shrunk, pooled pages released). */
  rssReducedBytes: number;
  heapUsedBytes: number;
  /** V8 heap reserved (used + free pages V8 keeps, e.g. a grown young generation): RSS that is not model state. */
  heapTotalBytes: number;
  externalBytes: number;
}

/**
 * Forces two GCs in the operator (SIGUSR2 → memoryProbe.ts) and reads RSS and the heap, then a
 * memory-reducing GC and VmRSS again.
 */
async function operatorMemory(op: OperatorProcess): Promise<Memory> {
  rmSync(op.memoryFile, { force: true });
  op.child.kill('SIGUSR2');
  const deadline = Date.now() + 10_000;
  type Usage = { rss: number; heapUsed: number; heapTotal: number; external: number };
  let usage: Usage | undefined;
  while (!usage) {
    try {
      usage = JSON.parse(readFileSync(op.memoryFile, 'utf8')) as Usage;
    } catch {
      if (Date.now() > deadline) throw new Error('the operator did not answer the memory probe');
      await sleep(100);
    }
  }
  await sleep(500); // let the allocator hand freed pages back before reading RSS
  const status = readFileSync(`/proc/${op.child.pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1]);
  return {
    rssBytes: usage.rss,
    rssReducedBytes: kb * 1024,
    heapUsedBytes: usage.heapUsed,
    heapTotalBytes: usage.heapTotal,
    externalBytes: usage.external,
  };
}

async function reconcileCounts(op: OperatorProcess): Promise<Record<string, number>> {
  const { text } = await fetchText(op.metricsUrl);
  const out: Record<string, number> = {};
  for (const s of parseMetrics(text, 'controller_runtime_reconcile_total'))
    out[`${s.labels['controller']}:${s.labels['result']}`] = s.value;
  for (const s of parseMetrics(text, 'controller_runtime_reconcile_errors_total'))
    out[`${s.labels['controller']}:errors_total`] = s.value;
  for (const s of parseMetrics(text, 'controller_runtime_reconcile_time_seconds_sum'))
    out[`${s.labels['controller']}:seconds_sum`] = s.value;
  return out;
}

function countsDelta(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(b)) if (v - (a[k] ?? 0) > 0) out[k] = v - (a[k] ?? 0);
  return out;
}

// ---------------------------------------------------------------- cluster objects

type Obj = KubernetesObject & {
  status?: { observedGeneration?: number; conditions?: { type: string; status: string }[] };
};

/** A list served from the API server's watch cache (resourceVersion=0): cheap to poll. */
async function cachedList(client: KubeClient, path: string, labelSelector?: string): Promise<Obj[]> {
  const list = await client.request<{ items: Obj[] }>({
    path,
    query: { resourceVersion: '0', ...(labelSelector ? { labelSelector } : {}) },
  });
  return list.items;
}

/**
 * When every model in `want` first had status.observedGeneration == metadata.generation, from one
 * watch: polling a list of 1,000 models every half second would itself load the API server.
 */
async function watchObserved(
  client: KubeClient,
  labelSelector: string,
  resourceVersion: string,
  want: Set<string>,
  deadline: number,
): Promise<number> {
  const done = new Set<string>();
  let rv = resourceVersion;
  let last = performance.now();
  while (done.size < want.size) {
    if (performance.now() > deadline)
      throw new Error(`only ${done.size}/${want.size} models converged in ${CONVERGE_TIMEOUT_MS / 1000} s`);
    const abort = new AbortController();
    try {
      await client.watch(
        { apiVersion: 'prognos.dev/v1alpha1', kind: 'MaintenanceModel' },
        { namespace: NS, labelSelector, resourceVersion: rv, timeoutSeconds: 60, idleTimeoutMs: 90_000 },
        (event) => {
          const m = event.object as Obj;
          if (m.metadata?.resourceVersion) rv = m.metadata.resourceVersion;
          const name = m.metadata?.name;
          if (event.type === 'BOOKMARK' || !name || done.has(name) || !want.has(name)) return;
          if (
            m.status?.observedGeneration !== undefined &&
            m.status.observedGeneration === m.metadata?.generation
          ) {
            done.add(name);
            last = performance.now();
            if (done.size === want.size) abort.abort();
          }
        },
        abort.signal,
      );
    } catch (error) {
      if (!abort.signal.aborted) throw error;
    }
  }
  return last;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

interface BatchResult {
  models: number;
  createSeconds: number;
  convergeSeconds: number;
  reconciles: Record<string, number>;
  cpuSeconds: Record<string, number>;
  apiWrites: number;
  apiWritesPerModel: number;
  apiWritesByResource: Record<string, number>;
}

async function runBatch(
  env: Environment,
  kc: KubeConfig,
  client: KubeClient,
  op: OperatorProcess,
  n: number,
  artifact: { version: string; uri: string; sha256: string },
): Promise<BatchResult> {
  const names = Array.from({ length: n }, (_, i) => `m${n}-${i}`);
  const writesBefore = await apiWrites(env, kc);
  const reconcilesBefore = await reconcileCounts(op);
  const cpuBefore = runCpuSeconds();
  // The watch starts from here, so no status write of this batch can be missed.
  const rvBefore = (
    await client.request<{ metadata: { resourceVersion: string } }>({
      path: `/apis/prognos.dev/v1alpha1/namespaces/${NS}/maintenancemodels`,
      query: { limit: 1 },
    })
  ).metadata.resourceVersion;
  const t0 = performance.now();
  let createdAt = 0;
  const creating = pool(names, CREATE_CONCURRENCY, async (name) => {
    await client.create(modelManifest(name, artifact, { [BATCH_LABEL]: String(n) }));
  }).then(() => (createdAt = performance.now()));
  await creating;
  log(`N=${n}: created in ${seconds(createdAt - t0)} s`);

  const want = new Set(names);
  const prefix = (k: string) => `/api/v1/namespaces/${NS}/${k}`;
  const apps = (k: string) => `/apis/apps/v1/namespaces/${NS}/${k}`;
  const deadline = t0 + CONVERGE_TIMEOUT_MS;
  const observedAt = await watchObserved(client, `${BATCH_LABEL}=${n}`, rvBefore, want, deadline);
  for (;;) {
    // Status is written after the children are applied; check they exist all the same (one list each).
    const sel = 'app.kubernetes.io/managed-by=prognos-operator';
    const [cms, deps, svcs] = await Promise.all([
      cachedList(client, prefix('configmaps'), sel),
      cachedList(client, apps('deployments'), sel),
      cachedList(client, prefix('services'), sel),
    ]);
    const has = (objs: Obj[], nameOf: (model: string) => string) => {
      const present = new Set(objs.map((o) => o.metadata?.name));
      return [...want].every((m) => present.has(nameOf(m)));
    };
    if (has(cms, (m) => `${m}-runtime`) && has(deps, (m) => m) && has(svcs, (m) => m)) {
      const cpuSeconds = cpuDelta(cpuBefore, runCpuSeconds());
      const settleReconciles = await reconcileCounts(op);
      const writes = writesDelta(writesBefore, await apiWrites(env, kc));
      const all = total(writes);
      return {
        models: n,
        createSeconds: seconds(createdAt - t0),
        convergeSeconds: seconds(observedAt - t0),
        reconciles: countsDelta(reconcilesBefore, settleReconciles),
        cpuSeconds,
        apiWrites: all,
        apiWritesPerModel: round(all / n, 1),
        apiWritesByResource: writes,
      };
    }
    if (performance.now() > deadline) throw new Error(`N=${n}: children missing after status converged`);
    await sleep(500);
  }
}

// ---------------------------------------------------------------- distinct artifacts

function statusKb(pid: number, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** The operator's RSS plus its children's, and how many of those children are load checks. */
function operatorTree(pid: number): { rssBytes: number; loadChecks: number } {
  let rssBytes = statusKb(pid, 'VmRSS');
  let loadChecks = 0;
  for (const entry of readdirSync('/proc')) {
    const child = Number(entry);
    if (!Number.isInteger(child)) continue;
    try {
      const stat = readFileSync(`/proc/${child}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== pid) continue;
      rssBytes += statusKb(child, 'VmRSS');
      if (readFileSync(`/proc/${child}/cmdline`, 'latin1').includes('loadCheckMain')) loadChecks += 1;
    } catch {
      // Gone meanwhile.
    }
  }
  return { rssBytes, loadChecks };
}

async function distinctArtifactsPhase(client: KubeClient, op: OperatorProcess, dir: string, n: number) {
  const pid = op.child.pid!;
  const artifacts = Array.from({ length: n }, (_, i) => {
    const { bytes } = buildMlpClassifier(randomLayers([MODEL_INPUTS.length, 8, 1], 1000 + i));
    const path = join(dir, `distinct-${i}.onnx`);
    writeFileSync(path, bytes);
    return {
      version: 'v1',
      uri: pathToFileURL(path).href,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    };
  });
  let peakTreeRssBytes = 0;
  let peakLoadChecks = 0;
  const sampler = setInterval(() => {
    const tree = operatorTree(pid);
    peakTreeRssBytes = Math.max(peakTreeRssBytes, tree.rssBytes);
    peakLoadChecks = Math.max(peakLoadChecks, tree.loadChecks);
  }, 100);
  const label = 'distinct';
  const t0 = performance.now();
  await pool(
    artifacts.map((a, i) => ({ a, i })),
    CREATE_CONCURRENCY,
    async ({ a, i }) => void (await client.create(modelManifest(`d-${i}`, a, { [BATCH_LABEL]: label }))),
  );
  const seenQueued = new Set<string>();
  const deadline = t0 + CONVERGE_TIMEOUT_MS;
  let verifySeconds: number | undefined;
  while (performance.now() < deadline) {
    const models = await cachedList(
      client,
      `/apis/prognos.dev/v1alpha1/namespaces/${NS}/maintenancemodels`,
      `${BATCH_LABEL}=${label}`,
    );
    const verified = (m: Obj) => m.status?.conditions?.find((c) => c.type === 'ArtifactVerified');
    for (const m of models)
      if ((verified(m) as { reason?: string } | undefined)?.reason === 'VerificationQueued')
        seenQueued.add(m.metadata!.name!);
    if (models.length === n && models.every((m) => verified(m)?.status === 'True')) {
      verifySeconds = seconds(performance.now() - t0);
      break;
    }
    await sleep(200);
  }
  clearInterval(sampler);
  if (verifySeconds === undefined) throw new Error(`distinct artifacts: not all ${n} verified in time`);
  return {
    artifacts: n,
    verifySeconds,
    modelsSeenQueued: seenQueued.size,
    peakConcurrentLoadChecks: peakLoadChecks,
    operatorPeakRssBytes: statusKb(pid, 'VmHWM'),
    operatorWithChildrenPeakRssBytes: peakTreeRssBytes,
  };
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const started = performance.now();
  // Read before the operator starts: the code it runs, even if the tree moves on during the run.
  const commit = gitCommit();
  const loadBefore = loadavg();
  const dir = mkdtempSync(join(tmpdir(), 'prognos-bench-op-'));
  let env: Environment | undefined;
  let envStarting: Promise<Environment> | undefined;
  let op: OperatorProcess | undefined;
  // Ctrl-C / SIGTERM: stop the operator and the environment before leaving, never orphan them.
  const interrupted = new Promise<never>((_, reject) => {
    const onSignal = (signal: string) => reject(new Error(`interrupted by ${signal}`));
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  interrupted.catch(() => undefined);
  const run = async () => {
    log(`environment in ${dir} (pod runner off)`);
    const envStart = performance.now();
    envStarting = startEnvironment({ stateDir: dir, podRunner: false });
    env = await envStarting;
    const kc = new KubeConfig();
    kc.loadFromFile(env.kubeconfig);
    const client = new KubeClient(kc);
    const version = await client.request<{ gitVersion: string }>({ path: '/version' });
    await installCrds(env);
    for (const name of [NS, LEASE_NS])
      await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    const envSeconds = seconds(performance.now() - envStart);

    const { bytes } = buildMlpClassifier(randomLayers([MODEL_INPUTS.length, 8, 1], 1));
    const modelPath = join(dir, 'model-v1.onnx');
    writeFileSync(modelPath, bytes);
    const artifact = {
      version: 'v1',
      uri: pathToFileURL(modelPath).href,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    };

    const operator = await startOperator(
      env,
      dir,
      (spawned) => (op = spawned),
      flags['model-workers'] ? ['--model-workers', flags['model-workers']] : [],
    );
    log(`operator pid ${operator.child.pid} leading`);
    await client.create(fleetManifest(env.natsUrl));
    const fleetPath = `/apis/prognos.dev/v1alpha1/namespaces/${NS}/sensorfleets`;
    const fleetDeadline = Date.now() + 60_000;
    for (;;) {
      const [fleet] = await cachedList(client, fleetPath);
      if (fleet?.status?.conditions?.some((c) => c.type === 'StreamReady' && c.status === 'True')) break;
      if (Date.now() > fleetDeadline) throw new Error('the SensorFleet did not get StreamReady within 60 s');
      await sleep(250);
    }
    await sleep(SETTLE_SECONDS * 1000);
    const baseline = await operatorMemory(operator);
    log(
      `baseline RSS ${(baseline.rssBytes / 2 ** 20).toFixed(1)} MiB, heap ${(baseline.heapUsedBytes / 2 ** 20).toFixed(1)} MiB`,
    );

    const distinctArtifactCount = Number(flags['distinct-artifacts']);
    const distinctArtifacts =
      distinctArtifactCount > 0
        ? await distinctArtifactsPhase(client, operator, dir, distinctArtifactCount)
        : undefined;
    if (distinctArtifacts) log(`distinct artifacts: ${JSON.stringify(distinctArtifacts)}`);

    const batches: BatchResult[] = [];
    const memoryAfter: (Memory & { models: number })[] = [];
    let models = 0;
    for (const n of SIZES) {
      const r = await runBatch(env, kc, client, operator, n, artifact);
      models += n;
      batches.push(r);
      log(
        `N=${n}: converged in ${r.convergeSeconds} s; ${r.apiWrites} API writes (${r.apiWritesPerModel}/model); reconciles ${JSON.stringify(r.reconciles)}`,
      );
      await sleep(SETTLE_SECONDS * 1000);
      const mem = await operatorMemory(operator);
      memoryAfter.push({ models, ...mem });
      log(
        `  ${models} models: RSS ${(mem.rssBytes / 2 ** 20).toFixed(1)} MiB, heap ${(mem.heapUsedBytes / 2 ** 20).toFixed(1)} MiB`,
      );
    }

    // The controller manager finishes its own work (ReplicaSets, Pods, Deployment status) after the
    // models converged; the idle window starts once the whole control plane is quiet.
    const quiesceStart = performance.now();
    let quietFor = 0;
    let previous = await apiWrites(env, kc);
    while (quietFor < QUIET_SECONDS && performance.now() - quiesceStart < QUIESCE_TIMEOUT_MS) {
      await sleep(5_000);
      const now = await apiWrites(env, kc);
      const delta = writesDelta(previous, now);
      // Rejected writes change nothing: the API server's own endpoints reconciler is refused every 10 s
      // here (422: the loopback advertise address is not a valid endpoint) and would never let it be quiet.
      const writes = total(delta, (k) => !isLease(k) && !isRejected(k));
      if (writes > 0) log(`  not quiet yet: ${JSON.stringify(delta)}`);
      quietFor = writes === 0 ? quietFor + 5 : 0;
      previous = now;
    }
    const quiesceSeconds = seconds(performance.now() - quiesceStart);
    log(
      `control plane quiet after ${quiesceSeconds} s${quietFor < QUIET_SECONDS ? ' (gave up waiting)' : ''}`,
    );
    log(`idle window: ${IDLE_SECONDS} s with ${models} models`);
    const idleWritesBefore = await apiWrites(env, kc);
    const idleReconcilesBefore = await reconcileCounts(operator);
    const idleStart = performance.now();
    await sleep(IDLE_SECONDS * 1000);
    const idleMinutes = (performance.now() - idleStart) / 60_000;
    const idleWrites = writesDelta(idleWritesBefore, await apiWrites(env, kc));
    const idleReconciles = countsDelta(idleReconcilesBefore, await reconcileCounts(operator));
    const afterIdle = await operatorMemory(operator);
    const perMinute = (x: number) => round(x / idleMinutes, 2);
    const nonLease = total(idleWrites, (k) => !isLease(k));

    const last = memoryAfter.at(-1)!;
    const first = memoryAfter[0]!;
    const marginal =
      memoryAfter.length > 1
        ? round((last.rssBytes - first.rssBytes) / (last.models - first.models), 0)
        : null;
    const result = {
      benchmark: 'operator',
      date: new Date().toISOString(),
      commit,
      machine: {
        cores: availableParallelism(),
        cpu: cpus()[0]?.model ?? 'unknown',
        memoryBytes: totalmem(),
        loadAverage1mBefore: round(loadBefore[0] ?? 0),
        loadAverage1mAfter: round(loadavg()[0] ?? 0),
        node: process.version,
        kubernetes: version.gitVersion,
      },
      setup: {
        podRunner: false,
        operator: `separate process: operator/main.ts --leader-elect (Lease in prognos-system), NODE_OPTIONS=${deployedNodeOptions()}`,
        modelWorkers: Number(flags['model-workers'] ?? DEFAULT_MODEL_WORKERS),
        creation: `${CREATE_CONCURRENCY} concurrent POSTs`,
        batches: 'one namespace, one SensorFleet; batches created one after another, earlier ones stay',
      },
      ...(distinctArtifacts ? { distinctArtifacts } : {}),
      convergeSeconds: Object.fromEntries(batches.map((b) => [String(b.models), b.convergeSeconds])),
      createSeconds: Object.fromEntries(batches.map((b) => [String(b.models), b.createSeconds])),
      quiesceSeconds,
      idleSeconds: round(idleMinutes * 60, 1),
      idleModels: models,
      idleWritesPerMinute: perMinute(total(idleWrites)),
      idleWritesPerMinuteExcludingLeases: perMinute(nonLease),
      idleWritesPerModelPerMinute: round(nonLease / idleMinutes / models, 4),
      idleWritesByResource: idleWrites,
      idleReconciles,
      bytesPerModel: round((last.rssBytes - baseline.rssBytes) / last.models, 0),
      bytesPerModelMarginal: marginal,
      bytesPerModelAfterReducingGc: round((last.rssReducedBytes - baseline.rssReducedBytes) / last.models, 0),
      bytesPerModelAfterIdle: round((afterIdle.rssBytes - baseline.rssBytes) / last.models, 0),
      heapBytesPerModel: round((last.heapUsedBytes - baseline.heapUsedBytes) / last.models, 0),
      memory: {
        baseline,
        afterBatches: memoryAfter,
        afterIdle,
      },
      batches,
      durations: {
        environmentSeconds: envSeconds,
        totalSeconds: seconds(performance.now() - started),
      },
    };
    if (flags.json) console.log(JSON.stringify(result, null, 2));
    else {
      console.log(
        `machine: ${result.machine.cores} cores, ${result.machine.cpu}, node ${result.machine.node}, ${result.machine.kubernetes}`,
      );
      for (const b of batches)
        console.log(
          `N=${b.models}: converged in ${b.convergeSeconds} s (created in ${b.createSeconds} s), ${b.apiWritesPerModel} API writes/model`,
        );
      console.log(
        `idle (${result.idleSeconds} s, ${models} models): ${result.idleWritesPerMinute} writes/min, ${result.idleWritesPerMinuteExcludingLeases} excluding leases, ${result.idleWritesPerModelPerMinute} per model`,
      );
      console.log(`idle writes by resource: ${JSON.stringify(idleWrites)}`);
      console.log(
        `memory: ${result.bytesPerModel} B/model over baseline (marginal ${marginal ?? 'n/a'} B/model), heap ${result.heapBytesPerModel} B/model`,
      );
      console.log(`total ${result.durations.totalSeconds} s`);
    }
  };
  try {
    await Promise.race([run(), interrupted]);
  } finally {
    env ??= await envStarting?.catch(() => undefined);
    await stopOperator(op).catch((e: unknown) => log(`stopping the operator: ${String(e)}`));
    await env?.stop().catch((e: unknown) => log(`stopping the environment: ${String(e)}`));
    if (flags.keep) log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  // The environment is stopped by now; an interrupted phase may still hold timers or sockets open.
  process.exit(1);
});
