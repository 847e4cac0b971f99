// The operator as the benchmarks run it: its own process (operator/main.ts with --leader-elect and
// config/manager's NODE_OPTIONS, as it is deployed) against a local environment, plus the small
// HTTP, metrics, kubectl and git helpers the cluster benchmarks share (bench:operator, bench:rollout).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { V1Deployment } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../test/cluster/binaries.ts';
import type { Environment } from '../test/cluster/environment.ts';
import { freePort } from '../test/cluster/freePort.ts';

/** Where the operator's leader-election Lease lives. */
export const LEASE_NS = 'prognos-system';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function fetchText(url: string, opts: RequestOptions = {}): Promise<{ status: number; text: string }> {
  const send = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { ...opts, method: 'GET', timeout: 30_000 }, (res) => {
      res.setEncoding('utf8');
      let text = '';
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text format → samples (no HELP/TYPE). */
export function parseMetrics(text: string, only?: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || (only && m[1] !== only)) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

export interface OperatorProcess {
  child: ChildProcess;
  metricsUrl: string;
  /** Where bench/memoryProbe.ts writes the operator's memory on SIGUSR2. */
  memoryFile: string;
}

/** NODE_OPTIONS of the operator container in config/manager (the chart's default is the same): run as deployed. */
export function deployedNodeOptions(): string {
  const docs = parseAllDocuments(readFileSync(join(repoRoot, 'config', 'manager', 'manager.yaml'), 'utf8'));
  for (const doc of docs) {
    const obj = doc.toJS() as V1Deployment;
    if (obj.kind !== 'Deployment') continue;
    const env = obj.spec?.template.spec?.containers.find((c) => c.name === 'operator')?.env ?? [];
    return env.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '';
  }
  throw new Error('config/manager/manager.yaml has no operator Deployment');
}

/**
 * Starts the operator (log in `<stateDir>/logs/operator.log`, the memory probe preloaded) and resolves
 * once it leads and is ready. `onSpawn` gets the process at once, so a caller can stop it even when
 * start-up fails.
 */
export async function startOperator(
  env: Environment,
  dir: string,
  onSpawn: (op: OperatorProcess) => void,
  extraArgs: string[] = [],
): Promise<OperatorProcess> {
  const port = await freePort();
  const memoryFile = join(dir, 'operator-memory.json');
  const out = openSync(join(env.stateDir, 'logs', 'operator.log'), 'a');
  const child = spawn(
    process.execPath,
    [
      '--expose-gc',
      '--import',
      pathToFileURL(join(repoRoot, 'bench', 'memoryProbe.ts')).href,
      join(repoRoot, 'operator', 'main.ts'),
      '--kubeconfig',
      env.kubeconfig,
      '--leader-elect',
      '--leader-election-namespace',
      LEASE_NS,
      '--metrics-port',
      String(port),
      ...extraArgs,
    ],
    {
      cwd: repoRoot,
      stdio: ['ignore', out, out],
      env: { ...process.env, NODE_OPTIONS: deployedNodeOptions(), PROGNOS_BENCH_MEMORY_FILE: memoryFile },
    },
  );
  const op = { child, metricsUrl: `http://127.0.0.1:${port}/metrics`, memoryFile };
  onSpawn(op);
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`operator exited (${child.exitCode}); see logs/operator.log`);
    const m = await fetchText(op.metricsUrl).catch(() => undefined);
    if (
      m?.status === 200 &&
      parseMetrics(m.text, 'leader_election_master_status').some((s) => s.value === 1)
    ) {
      const ready = await fetchText(op.metricsUrl.replace('/metrics', '/readyz')).catch(() => undefined);
      if (ready?.status === 200) return op;
    }
    if (Date.now() > deadline) throw new Error('operator did not lead and get ready within 60 s');
    await sleep(250);
  }
}

export async function stopOperator(op: OperatorProcess | undefined): Promise<void> {
  if (!op || op.child.exitCode !== null || op.child.signalCode !== null) return;
  const exited = new Promise<void>((r) => op.child.once('exit', () => r()));
  op.child.kill('SIGTERM');
  // A cleared timer, not a pending sleep: that would keep the benchmark alive 40 s after its result.
  const timer = setTimeout(() => op.child.kill('SIGKILL'), 40_000);
  await exited;
  clearTimeout(timer);
}

/** Runs the environment's kubectl; rejects with its stderr when it fails. */
export async function kubectl(env: Environment, args: string[]): Promise<void> {
  const child = spawn(env.kubectl, args, {
    env: { ...process.env, KUBECONFIG: env.kubeconfig },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  if (code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${stderr}`);
}

/** Applies config/crd and waits until the Prognos CRDs are Established. */
export async function installCrds(env: Environment): Promise<void> {
  await kubectl(env, ['apply', '--server-side', '-k', join(repoRoot, 'config', 'crd')]);
  await kubectl(env, [
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/sensorfleets.prognos.dev',
    'crd/maintenancemodels.prognos.dev',
  ]);
}

/** The commit measured, with "+dirty" when the working tree differs from it. */
export function gitCommit(): string {
  if (process.env['PROGNOS_BENCH_COMMIT']) return process.env['PROGNOS_BENCH_COMMIT']; // a snapshot without .git
  const git = (args: string[]) => spawnSync('git', args, { cwd: repoRoot, encoding: 'utf8' });
  const head = git(['rev-parse', '--short', 'HEAD']).stdout.trim();
  if (!head) return 'unknown';
  return git(['status', '--porcelain', '--untracked-files=no']).stdout.trim() ? `${head}+dirty` : head;
}
