import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tail } from './managedProcess.ts';

export const repoRoot = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');

export interface Binaries {
  dir: string;
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubectl: string;
  natsServer: string;
  helm: string;
  grpcurl: string;
  /** Runs an Argo CD Lua customization under gopher-lua (test/tools/luacheck). */
  luacheck: string;
  /** Checks and unit-tests the chart's alert rules. */
  promtool: string;
  /** Receives the runtimes' machine alerts (API v2) in tests. */
  alertmanager: string;
  /** KEDA's ScaledObject CRD (YAML), copied from its Go module: tests install the real one. */
  kedaScaledObjectCrd: string;
  /** The Gateway API's standard-channel GRPCRoute CRD (YAML), copied from its Go module likewise. */
  gatewayGrpcRouteCrd: string;
  /** Argo CD's Application CRD (YAML), copied from its Go module: the install example is checked against it. */
  argocdApplicationCrd: string;
}

/** A step of the one-time build, as build-binaries.sh announces it ("==> <step>" on stderr). */
export interface BuildStep {
  step: string;
  startedAt: number;
}

export interface EnsureBinariesOptions {
  /** Called when the build starts a step; not called at all when every binary is cached. */
  onStep?: (step: BuildStep) => void;
  /** Where the build's output goes (default: the cache's build.log, named in errors). */
  logFile?: string;
}

/**
 * The build script; PROGNOS_BUILD_SCRIPT stands in another one (the test of `cli.ts up` uses a slow
 * stand-in). It must print the binaries' directory as its last line of stdout.
 */
const buildScript = (): string =>
  process.env.PROGNOS_BUILD_SCRIPT ?? join(repoRoot, 'test/cluster/build-binaries.sh');

const defaultLogFile = (): string =>
  join(
    process.env.PROGNOS_CACHE_DIR ??
      join(process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? '/tmp', '.cache'), 'prognos'),
    'build',
    'build.log',
  );

/**
 * Ensures the control-plane binaries and nats-server exist (building them once into the cache) and
 * returns their paths. A failed build names the step that failed and the log that holds its output.
 */
export async function ensureBinaries(opts: EnsureBinariesOptions = {}): Promise<Binaries> {
  const logFile = opts.logFile ?? defaultLogFile();
  const dir = await runBuild(buildScript(), logFile, opts.onStep);
  const bin = (name: string): string => {
    const p = join(dir, name);
    if (!existsSync(p)) throw new Error(`${name} missing from ${dir}`);
    return p;
  };
  return {
    dir,
    etcd: bin('etcd'),
    kubeApiserver: bin('kube-apiserver'),
    kubeControllerManager: bin('kube-controller-manager'),
    kubectl: bin('kubectl'),
    natsServer: bin('nats-server'),
    helm: bin('helm'),
    grpcurl: bin('grpcurl'),
    luacheck: bin('luacheck'),
    promtool: bin('promtool'),
    alertmanager: bin('alertmanager'),
    kedaScaledObjectCrd: bin('keda.sh_scaledobjects.yaml'),
    gatewayGrpcRouteCrd: bin('gateway.networking.k8s.io_grpcroutes.yaml'),
    argocdApplicationCrd: bin('argoproj.io_applications.yaml'),
  };
}

function runBuild(script: string, logFile: string, onStep?: (step: BuildStep) => void): Promise<string> {
  mkdirSync(dirname(logFile), { recursive: true });
  const log = createWriteStream(logFile, { flags: 'a' });
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let current: string | undefined;
    let pending = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      log.write(chunk);
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        if (!line.startsWith('==> ')) continue;
        current = line.slice(4);
        onStep?.({ step: current, startedAt: Date.now() });
      }
    });
    child.once('error', reject);
    child.once('close', (code, signal) => {
      log.end(() => {
        if (code === 0) return resolve(stdout.trim().split('\n').pop()!);
        const what = current ? `the step "${current}"` : 'building the control-plane binaries';
        reject(
          new Error(
            `${what} failed (${signal ?? `exit ${code}`}); its output is in ${logFile}. Last lines:\n${tail(logFile)}`,
          ),
        );
      });
    });
  });
}
