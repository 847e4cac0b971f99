// `npm run demo`: the end-to-end demo on the embedded cluster. Installs the CRDs, starts the operator
// as a process, writes a RUL model fitted on C-MAPSS (synthetic data when absent), applies a fleet and
// a model, starts the fleet simulator, and says how to watch. `demo-down` stops what it started.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { stringify } from 'yaml';
import { buildLinearRegressor } from '../../../contracts/onnx/buildModel.ts';
import { repoRoot } from '../binaries.ts';
import type { EnvironmentInfo } from '../environment.ts';
import { DEMO_SENSORS, fitLinearRul, loadCmapss, syntheticCycles } from './cmapss.ts';

export const DEMO_NAMESPACE = 'prognos-demo';
const FLEET = 'turbofans';
const MODEL = 'turbofan-rul';
const PREFIX = 'demo.turbofan';

function kubectl(info: EnvironmentInfo, args: string[], input?: string): string {
  const r = spawnSync(info.kubectl, args, {
    input,
    encoding: 'utf8',
    env: { ...process.env, KUBECONFIG: info.kubeconfig },
  });
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

const pidFile = (info: EnvironmentInfo, name: string) => join(info.stateDir, `demo-${name}.pid`);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts `entry` detached (logs in the state dir), unless the demo already runs one. */
function startProcess(info: EnvironmentInfo, name: string, entry: string, args: string[]): number {
  const file = pidFile(info, name);
  if (existsSync(file)) {
    const pid = Number(readFileSync(file, 'utf8'));
    if (alive(pid)) return pid;
  }
  mkdirSync(join(info.stateDir, 'logs'), { recursive: true });
  const log = openSync(join(info.stateDir, 'logs', `demo-${name}.log`), 'a');
  const child = spawn(join(repoRoot, 'scripts', 'node24'), [join(repoRoot, entry), ...args], {
    cwd: repoRoot,
    detached: true,
    stdio: ['ignore', log, log],
    // The environment's marker: `env:down` finds (and reports) anything the demo left running.
    env: { ...process.env, PROGNOS_ENV_STATE_DIR: info.stateDir },
  });
  child.unref();
  writeFileSync(file, String(child.pid));
  return child.pid!;
}

interface DemoModel {
  version: string;
  uri: string;
  sha256: string;
  /** What it was fitted on, for the console. */
  source: string;
}

/**
 * The demo's versions: v1 is fitted on the first half of the engines, v2 (the canary) on all of them,
 * so the two are close but not the same model.
 */
const DEMO_VERSIONS = { v1: 0.5, v2: 1 } as const;
type DemoVersion = keyof typeof DEMO_VERSIONS;

function writeDemoModel(dir: string, version: DemoVersion): DemoModel {
  const real = loadCmapss();
  const cycles = real ?? syntheticCycles();
  const engines = [...new Set(cycles.map((c) => c.engine))];
  const kept = new Set(engines.slice(0, Math.ceil(engines.length * DEMO_VERSIONS[version])));
  const { coefficients, intercept } = fitLinearRul(cycles.filter((c) => kept.has(c.engine)));
  const { bytes } = buildLinearRegressor(coefficients, intercept);
  const path = join(dir, `turbofan-rul-${version}.onnx`);
  writeFileSync(path, bytes);
  return {
    version,
    uri: `file://${path}`,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    source: `${kept.size} engines of ${real ? 'C-MAPSS FD001' : 'synthetic data'}`,
  };
}

/**
 * A canary in two steps of 30 s, each judged every 10 s on the runtimes' telemetry. Four partitions
 * give the canary a 25% grain.
 */
const DEMO_ROLLOUT = {
  strategy: 'Canary',
  steps: [
    { weight: 25, pause: '30s' },
    { weight: 50, pause: '30s' },
  ],
  analysis: { interval: '10s', minSamples: 30, failureLimit: 2, maxErrorRate: 0.01, maxScoreDivergence: 0.5 },
};

function modelManifest(model: DemoModel): Record<string, unknown> {
  return {
    apiVersion: 'prognos.dev/v1alpha1',
    kind: 'MaintenanceModel',
    metadata: { name: MODEL, namespace: DEMO_NAMESPACE },
    spec: {
      fleetRef: { name: FLEET },
      task: 'regression',
      model: {
        version: model.version,
        uri: model.uri,
        sha256: model.sha256,
        inputs: DEMO_SENSORS.map((s) => s.name),
      },
      // RUL in cycles: warn at 50 left, critical at 20.
      thresholds: { warning: 50, critical: 20 },
      serving: { replicas: 1 },
      rollout: DEMO_ROLLOUT,
    },
  };
}

function manifests(info: EnvironmentInfo, model: DemoModel): string {
  const fleet = {
    apiVersion: 'prognos.dev/v1alpha1',
    kind: 'SensorFleet',
    metadata: { name: FLEET, namespace: DEMO_NAMESPACE },
    spec: {
      nats: { url: info.natsUrl },
      subject: `${PREFIX}.*.readings`,
      machineId: { subjectToken: 3 },
      stream: { maxAge: '1d', partitions: 4 },
      schema: {
        timestampField: 'ts',
        timestampFormat: 'UnixMillis',
        features: DEMO_SENSORS.map((s) => ({ name: s.name, min: s.min, max: s.max })),
      },
      windows: [{ feature: 't50', size: 30, aggregations: ['mean', 'slope'] }],
      deletionPolicy: 'Delete',
    },
  };
  return [fleet, modelManifest(model)].map((o) => stringify(o)).join('---\n');
}

const modelDir = (info: EnvironmentInfo): string => {
  const dir = join(info.stateDir, 'demo-models');
  mkdirSync(dir, { recursive: true });
  return dir;
};

/** bin/ (kubectl-prognos) and the environment's kubectl, for `kubectl prognos`. */
const pluginPath = (info: EnvironmentInfo): string => `${join(repoRoot, 'bin')}:${dirname(info.kubectl)}`;

/** After `up`: everything the end-to-end demo needs, then how to watch it. */
export async function runDemo(info: EnvironmentInfo): Promise<void> {
  kubectl(info, ['apply', '--server-side', '-k', join(repoRoot, 'config', 'crd')]);
  kubectl(info, [
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/sensorfleets.prognos.dev',
    'crd/maintenancemodels.prognos.dev',
  ]);
  const operatorPid = startProcess(info, 'operator', 'operator/main.ts', [
    '--kubeconfig',
    info.kubeconfig,
    '--metrics-port',
    '0',
  ]);
  console.log(
    `operator running (pid ${operatorPid}, log ${join(info.stateDir, 'logs', 'demo-operator.log')})`,
  );

  const model = writeDemoModel(modelDir(info), 'v1');
  console.log(
    `demo model v1: linear RUL regressor fitted on ${model.source} (${model.uri}, sha256 ${model.sha256.slice(0, 12)}…)`,
  );
  spawnSync(info.kubectl, ['create', 'namespace', DEMO_NAMESPACE], {
    env: { ...process.env, KUBECONFIG: info.kubeconfig },
  });
  kubectl(info, ['apply', '--server-side', '-f', '-'], manifests(info, model));

  const deadline = Date.now() + 120_000;
  for (;;) {
    const ready = kubectl(info, [
      'get',
      'mm',
      MODEL,
      '-n',
      DEMO_NAMESPACE,
      '-o',
      'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
    ]);
    if (ready === 'True') break;
    if (Date.now() > deadline)
      throw new Error(`${MODEL} not Ready within 120 s: kubectl describe mm ${MODEL} -n ${DEMO_NAMESPACE}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  const simPid = startProcess(info, 'simulator', 'test/cluster/demo/simulator.ts', [
    '--nats',
    info.natsUrl,
    '--prefix',
    PREFIX,
    '--rate',
    '40',
    '--engines',
    '16',
  ]);
  console.log(
    `fleet simulator running (pid ${simPid}, log ${join(info.stateDir, 'logs', 'demo-simulator.log')})\n`,
  );
  console.log(kubectl(info, ['get', 'sf,mm', '-n', DEMO_NAMESPACE]));
  console.log(`Watch it:
  KUBECONFIG=${info.kubeconfig} ${info.kubectl} get mm,sf -n ${DEMO_NAMESPACE} -w
  scripts/node24 test/cluster/cli.ts watch          # live predictions (RUL, severity, health)
Roll out v2 as a canary, and watch it walk its steps under analysis:
  npm run demo:canary
  KUBECONFIG=${info.kubeconfig} PATH=${pluginPath(info)}:$PATH kubectl prognos status ${MODEL} -n ${DEMO_NAMESPACE} -w
Stop it:
  scripts/node24 test/cluster/cli.ts demo-down && npm run env:down`);
}

/**
 * `npm run demo:canary`: a second version of the demo model, applied as spec.model. The model's
 * rollout makes it a canary: 25%, then 50% of the machines, each step analysed, then promoted.
 */
export function runDemoCanary(info: EnvironmentInfo): void {
  const model = writeDemoModel(modelDir(info), 'v2');
  console.log(
    `demo model v2: linear RUL regressor fitted on ${model.source} (sha256 ${model.sha256.slice(0, 12)}…)`,
  );
  kubectl(info, ['apply', '--server-side', '-f', '-'], stringify(modelManifest(model)));
  console.log(`${MODEL} v2 applied: the operator verifies it, then runs it as a canary beside v1.
Watch the rollout (steps, weight, analysis results, history):
  KUBECONFIG=${info.kubeconfig} PATH=${pluginPath(info)}:$PATH kubectl prognos status ${MODEL} -n ${DEMO_NAMESPACE} -w
Predictions name the version that scored them:
  scripts/node24 test/cluster/cli.ts watch`);
}

/** Prints predictions of the demo model as they arrive, until Ctrl-C. */
export async function watchPredictions(info: EnvironmentInfo): Promise<void> {
  const nc = await connect({ servers: info.natsUrl, name: 'prognos-demo-watch' });
  const subject = `prognos.predictions.${DEMO_NAMESPACE}.${MODEL}.>`;
  console.log(`subscribed to ${subject} (Ctrl-C to stop)`);
  const sub = nc.subscribe(subject);
  process.once('SIGINT', () => void nc.drain());
  for await (const msg of sub) {
    const p = msg.json<Record<string, unknown>>();
    const rul = typeof p['score'] === 'number' ? (p['score'] as number).toFixed(1) : '?';
    console.log(
      `${String(p['machineId']).padEnd(12)} RUL ${rul.padStart(6)}  ${String(p['severity']).padEnd(8)} health ${String(p['healthScore']).padStart(3)}  ${String(p['modelVersion'] ?? p['version'] ?? '')}`,
    );
  }
}

/** Stops the operator and simulator the demo started, and removes the demo namespace's objects. */
export function stopDemo(info: EnvironmentInfo): void {
  spawnSync(info.kubectl, ['delete', 'namespace', DEMO_NAMESPACE, '--timeout=90s', '--ignore-not-found'], {
    env: { ...process.env, KUBECONFIG: info.kubeconfig },
  });
  for (const name of ['simulator', 'operator']) {
    const file = pidFile(info, name);
    if (!existsSync(file)) continue;
    const pid = Number(readFileSync(file, 'utf8'));
    if (alive(pid)) process.kill(pid, 'SIGTERM');
    rmSync(file, { force: true });
    console.log(`stopped demo ${name} (pid ${pid})`);
  }
}
