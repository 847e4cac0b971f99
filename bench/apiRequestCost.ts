// What each write of a new MaintenanceModel costs the control plane:
// `npm run bench:api-cost -- --json [--models 400]`.
//
// On a fresh local environment (pod runner off) with no operator running, the writes the operator
// makes for a new model are sent one kind at a time, `--models` of each, 8 in flight: create the
// MaintenanceModel, add the finalizer (merge patch), apply the status, apply the ConfigMap, the
// PodDisruptionBudget, an Event, the Service, the Deployment (the operator's real builders). For each
// kind the CPU-seconds of kube-apiserver, etcd and kube-controller-manager (from /proc) are read
// while the requests run and again once the control plane is quiet, so the work a write sets off in
// controllers (EndpointSlices, the disruption controller's status, ReplicaSets and Pods) is counted
// with it. The idle rate measured just before each step is subtracted. Reported per request, in
// milliseconds. Runs take ~5 minutes, most of it the controller
// manager catching up on Deployments at its client's default 20 QPS.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { MaintenanceModel } from '../operator/api/maintenanceModel.ts';
import type { SensorFleet } from '../operator/api/sensorFleet.ts';
import {
  configHash,
  desiredConfigMap,
  renderRuntimeConfig,
} from '../operator/controllers/maintenanceModel/configMap.ts';
import { desiredDeployment } from '../operator/controllers/maintenanceModel/deployment.ts';
import { desiredPodDisruptionBudget } from '../operator/controllers/maintenanceModel/podDisruptionBudget.ts';
import { desiredRuntimeConfig } from '../operator/controllers/maintenanceModel/runtimeConfig.ts';
import { desiredService } from '../operator/controllers/maintenanceModel/service.ts';
import { apply, applyStatus, FIELD_MANAGER } from '../operator/framework/apply.ts';
import { KubeClient, refOf } from '../operator/framework/kubeClient.ts';
import { withIntentHash } from '../operator/framework/needsApply.ts';
import { repoRoot } from '../test/cluster/binaries.ts';
import { startEnvironment, type Environment } from '../test/cluster/environment.ts';
import {
  BENCH_NAMESPACE,
  childCpuSeconds,
  fleetManifest,
  MODEL_INPUTS,
  modelManifest,
} from './benchObjects.ts';

const { values: flags } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    models: { type: 'string', default: '400' },
  },
});
const N = Number(flags.models);
const IN_FLIGHT = 8;
const NS = BENCH_NAMESPACE;
// An idle control plane holding a few thousand objects still uses ~0.13 CPU-seconds per 3 s (etcd
// and API server housekeeping); a controller working through a backlog uses several times that.
const QUIET_CPU_SECONDS = 0.3;
const QUIET_INTERVAL_MS = 3_000;
const QUIET_TIMEOUT_MS = 600_000;
const PROCESSES = ['kube-apiserver', 'etcd', 'kube-controller'];

const log = (msg: string): void => console.error(`[bench:api-cost] ${msg}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const controlPlaneCpu = (cpu: Record<string, number>) => PROCESSES.reduce((s, p) => s + (cpu[p] ?? 0), 0);

/**
 * Until the control plane used under QUIET_CPU_SECONDS in each of two intervals in a row. Returns
 * its idle CPU rate then (CPU-seconds per second, by process), to subtract from the step that follows.
 */
async function quiet(): Promise<Record<string, number>> {
  const deadline = Date.now() + QUIET_TIMEOUT_MS;
  let previous = childCpuSeconds();
  let start = previous;
  let startedAt = performance.now();
  let quietIntervals = 0;
  while (quietIntervals < 2) {
    if (Date.now() > deadline) throw new Error('the control plane did not get quiet');
    await sleep(QUIET_INTERVAL_MS);
    const now = childCpuSeconds();
    if (controlPlaneCpu(now) - controlPlaneCpu(previous) < QUIET_CPU_SECONDS) quietIntervals++;
    else {
      quietIntervals = 0;
      start = now;
      startedAt = performance.now();
    }
    previous = now;
  }
  const seconds = (performance.now() - startedAt) / 1000;
  return Object.fromEntries(PROCESSES.map((p) => [p, ((previous[p] ?? 0) - (start[p] ?? 0)) / seconds]));
}

async function inFlight<T>(items: T[], fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

interface Cost {
  requests: number;
  seconds: number;
  /** Milliseconds of CPU per request while the requests ran. */
  during: Record<string, number>;
  /** Milliseconds of CPU per request until the control plane was quiet again (controllers' follow-up work included). */
  total: Record<string, number>;
}

async function measure<T>(items: T[], fn: (item: T) => Promise<unknown>): Promise<Cost> {
  const idleRate = await quiet();
  const before = childCpuSeconds();
  const t0 = performance.now();
  await inFlight(items, fn);
  const seconds = (performance.now() - t0) / 1000;
  const after = childCpuSeconds();
  await quiet();
  const settled = childCpuSeconds();
  const settledSeconds = (performance.now() - t0) / 1000;
  // CPU above the idle rate measured just before, per request.
  const perRequest = (b: Record<string, number>, elapsed: number) =>
    Object.fromEntries(
      PROCESSES.map((p) => [
        p === 'kube-controller' ? 'kube-controller-manager' : p,
        Number(
          ((((b[p] ?? 0) - (before[p] ?? 0) - (idleRate[p] ?? 0) * elapsed) * 1000) / items.length).toFixed(
            2,
          ),
        ),
      ]),
    );
  return {
    requests: items.length,
    seconds: Number(seconds.toFixed(2)),
    during: perRequest(after, seconds),
    total: perRequest(settled, settledSeconds),
  };
}

function kubectl(env: Environment, args: string[]): void {
  const res = spawnSync(env.kubectl, args, { env: { ...process.env, KUBECONFIG: env.kubeconfig } });
  if (res.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${String(res.stderr)}`);
}

const ARTIFACT = {
  version: 'v1',
  uri: 'file:///models/v1.onnx',
  sha256: 'a'.repeat(64),
  inputs: MODEL_INPUTS,
};

/** A status like the one the operator writes for a new model. */
function modelStatus(generation: number) {
  const at = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    observedGeneration: generation,
    phase: 'Stable',
    stable: { version: ARTIFACT.version, sha256: ARTIFACT.sha256 },
    readyReplicas: 0,
    endpoint: `model.${NS}.svc:50051`,
    conditions: ['FleetBound', 'ArtifactVerified', 'Available', 'Ready'].map((type) => ({
      type,
      status: 'True',
      reason: 'Verified',
      message: `${type}: a message of the usual length for this condition`,
      lastTransitionTime: at,
      observedGeneration: generation,
    })),
  };
}

async function main(): Promise<void> {
  // Ctrl-C / SIGTERM: stop the environment before leaving, never orphan its processes.
  const interrupted = new Promise<never>((_, reject) => {
    const onSignal = (signal: string) => reject(new Error(`interrupted by ${signal}`));
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  interrupted.catch(() => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'prognos-bench-api-cost-'));
  log(`environment in ${dir} (pod runner off)`);
  const starting = startEnvironment({ stateDir: dir, podRunner: false });
  let env: Environment | undefined;
  try {
    env = await Promise.race([starting, interrupted]);
    await Promise.race([run(env), interrupted]);
  } finally {
    env ??= await starting.catch(() => undefined);
    await env?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function run(env: Environment): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(env.kubeconfig);
  const client = new KubeClient(kc);
  kubectl(env, ['apply', '--server-side', '-k', join(repoRoot, 'config', 'crd')]);
  kubectl(env, [
    'wait',
    '--for=condition=Established',
    'crd/sensorfleets.prognos.dev',
    'crd/maintenancemodels.prognos.dev',
  ]);
  await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  const fleet = (await client.create(fleetManifest(env.natsUrl))) as SensorFleet;
  const names = Array.from({ length: N }, (_, i) => `m-${i}`);
  const models: MaintenanceModel[] = [];
  const costs: Record<string, Cost> = {};
  const step = async <T>(name: string, items: T[], fn: (item: T) => Promise<unknown>) => {
    costs[name] = await measure(items, fn);
    log(`${name}: ${JSON.stringify(costs[name])}`);
  };
  await step('MaintenanceModel POST', names, async (name) =>
    models.push((await client.create(modelManifest(name, ARTIFACT))) as MaintenanceModel),
  );
  await step('finalizer merge patch', models, (m) =>
    client.patch(
      refOf(m),
      {
        metadata: {
          resourceVersion: m.metadata.resourceVersion,
          finalizers: ['prognos.dev/rollout-split'],
        },
      },
      'application/merge-patch+json',
      { query: { fieldManager: FIELD_MANAGER } },
    ),
  );
  await step('status apply', models, (m) =>
    applyStatus(client, {
      apiVersion: m.apiVersion,
      kind: m.kind,
      metadata: { name: m.metadata.name, namespace: NS },
      status: modelStatus(m.metadata.generation ?? 1),
    } as KubernetesObject),
  );
  const rendered = (m: MaintenanceModel) => renderRuntimeConfig(desiredRuntimeConfig(m, fleet, ARTIFACT));
  await step('ConfigMap apply', models, (m) =>
    apply(client, withIntentHash(desiredConfigMap(m, rendered(m)))),
  );
  // The budget a two-replica model gets, over these single-replica models' pods.
  const twoReplicas = (m: MaintenanceModel): MaintenanceModel => ({
    ...m,
    spec: { ...m.spec, serving: { ...m.spec.serving, replicas: 2 } },
  });
  await step('PodDisruptionBudget apply', models, (m) =>
    apply(client, withIntentHash(desiredPodDisruptionBudget(twoReplicas(m))!)),
  );
  await step('Event POST', models, (m) =>
    client.create({
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { generateName: `${m.metadata.name}-`, namespace: NS },
      eventTime: new Date().toISOString().replace('Z', '000Z'),
      reportingController: 'prognos.dev/operator',
      reportingInstance: 'bench',
      action: 'Verify',
      reason: 'Verified',
      note: 'fleet bound; artifact verified',
      type: 'Normal',
      regarding: {
        apiVersion: m.apiVersion,
        kind: m.kind,
        name: m.metadata.name,
        namespace: NS,
        uid: m.metadata.uid,
      },
    } as KubernetesObject),
  );
  await step('Service apply', models, (m) => apply(client, withIntentHash(desiredService(m))));
  await step('Deployment apply', models, (m) =>
    apply(
      client,
      withIntentHash(
        desiredDeployment({
          model: m,
          fleet,
          image: 'prognos:bench',
          configHash: configHash(rendered(m)),
          version: 'v1',
        }),
      ),
    ),
  );
  const result = {
    benchmark: 'api-request-cost',
    date: new Date().toISOString(),
    machine: { cores: availableParallelism() },
    setup: {
      models: N,
      inFlight: IN_FLIGHT,
      podRunner: false,
      unit: 'milliseconds of CPU per request',
    },
    costs,
  };
  if (flags.json) console.log(JSON.stringify(result, null, 2));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
