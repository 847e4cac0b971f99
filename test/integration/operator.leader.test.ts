// Two (then three) operator processes (`operator/main.ts --leader-elect`) against the test cluster:
// only the Lease holder reconciles, a standby says so in its metrics, a graceful stop (SIGTERM) hands
// over in well under 15 s, and a crash (SIGKILL) hands over once the 15 s lease expires.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from './env.ts';
import {
  applyObject,
  createNamespace,
  deleteNamespace,
  eventually,
  fleetManifest,
  getJson,
  installCrds,
  type ModelFile,
  modelManifest,
  ok,
  REPO,
  tempDir,
  waitCondition,
  writeModel,
} from './operatorHarness.ts';

interface OperatorProcess {
  name: string;
  /** Its identity in the Lease and in Events' reportingInstance: `$POD_NAME_<pid>`. */
  identity: string;
  port: number;
  child: ChildProcess;
  exited: Promise<number | null>;
  /** The `msg` of each JSON log line, in order. */
  messages: string[];
}

let ns: string;
let model: ModelFile;
const processes: OperatorProcess[] = [];

async function spawnOperator(name: string): Promise<OperatorProcess> {
  const child = spawn(
    join(REPO, 'scripts', 'node24'),
    [
      join(REPO, 'operator', 'main.ts'),
      '--kubeconfig',
      testEnv().kubeconfig,
      '--namespace',
      ns,
      '--leader-elect',
      '--leader-election-namespace',
      ns,
      '--metrics-port',
      '0',
    ],
    { env: { ...process.env, POD_NAME: name }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // 'close', not 'exit': every line the process wrote has been read by then.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const stderr: string[] = [];
  const messages: string[] = [];
  child.stderr!.on('data', (d: Buffer) => stderr.push(d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} did not start in 30 s: ${stderr.join('')}`)),
      30_000,
    );
    void exited.then((code) => reject(new Error(`${name} exited with ${code}: ${stderr.join('')}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; healthPort?: number };
        if (entry.msg) messages.push(entry.msg);
        if (entry.msg === 'prognos operator started' && entry.healthPort) {
          clearTimeout(timer);
          resolve(entry.healthPort);
        }
      } catch {
        // not a log line
      }
    });
  });
  const op = { name, identity: `${name}_${child.pid}`, port, child, exited, messages };
  processes.push(op);
  return op;
}

async function metrics(op: OperatorProcess): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${op.port}/metrics`, { signal: AbortSignal.timeout(2_000) });
  return res.text();
}

function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    const m = /^(\w+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries(
      [...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map(([, k, v]) => [k!, v!]),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum = (sum ?? 0) + Number(m[3]);
  }
  return sum;
}

const isLeader = async (op: OperatorProcess) =>
  sample(await metrics(op), 'leader_election_master_status', { name: 'prognos-operator' }) === 1;

async function modelReconciles(op: OperatorProcess): Promise<number> {
  return (
    sample(await metrics(op), 'controller_runtime_reconcile_total', { controller: 'maintenancemodel' }) ?? 0
  );
}

async function readyz(op: OperatorProcess): Promise<number> {
  return (await fetch(`http://127.0.0.1:${op.port}/readyz`, { signal: AbortSignal.timeout(2_000) })).status;
}

async function leaseHolder(): Promise<string | undefined> {
  const lease = await getJson(ns, 'lease/prognos-operator');
  return lease?.spec?.holderIdentity;
}

/** Which replica reconciled a model: the reportingInstance of the Events about it. */
async function reporters(modelName: string): Promise<string[]> {
  const list = JSON.parse(await ok(['get', 'events.events.k8s.io', '-n', ns, '-o', 'json'])) as {
    items: { regarding: { kind: string; name: string }; reportingInstance: string }[];
  };
  return [
    ...new Set(
      list.items
        .filter((e) => e.regarding.kind === 'MaintenanceModel' && e.regarding.name === modelName)
        .map((e) => e.reportingInstance),
    ),
  ];
}

/** A new model is reconciled: children applied, status for its generation, Events by `by`. */
async function expectReconciledBy(modelName: string, by: OperatorProcess): Promise<void> {
  await applyObject(modelManifest(ns, modelName, 'pumps', { version: 'v1', ...model }));
  await waitCondition(ns, `mm/${modelName}`, 'ArtifactVerified', 'True', 'DigestAndInputsVerified', 30_000);
  await eventually(
    `deployment/${modelName}`,
    async () => (await getJson(ns, `deployment/${modelName}`)) !== undefined,
    30_000,
  );
  const mm = await getJson(ns, `mm/${modelName}`);
  expect(mm.status.observedGeneration).toBe(mm.metadata.generation);
  await eventually(`Events about ${modelName}`, async () => (await reporters(modelName)).length > 0, 10_000);
  expect(await reporters(modelName)).toEqual([by.identity]);
}

async function stop(op: OperatorProcess, signal: NodeJS.Signals): Promise<number | null> {
  op.child.kill(signal);
  return op.exited;
}

beforeAll(async () => {
  await installCrds();
  ns = await createNamespace('op-leader');
  model = writeModel(tempDir(), 'v1.onnx', 41);
});

afterAll(async () => {
  for (const op of processes) {
    if (op.child.exitCode !== null || op.child.signalCode !== null) continue;
    op.child.kill('SIGTERM');
    const timer = setTimeout(() => op.child.kill('SIGKILL'), 10_000);
    await op.exited;
    clearTimeout(timer);
  }
  if (ns) await deleteNamespace(ns);
});

describe('operator processes with --leader-elect', () => {
  let a: OperatorProcess;
  let b: OperatorProcess;
  let c: OperatorProcess;

  it('only the leader reconciles; the standby reports standby and stays ready', async () => {
    a = await spawnOperator('operator-a');
    await eventually('operator-a leads', () => isLeader(a), 20_000);
    b = await spawnOperator('operator-b');
    await applyObject(fleetManifest(ns, 'pumps'));
    await waitCondition(ns, 'sf/pumps', 'StreamReady', 'True', undefined, 30_000);
    await expectReconciledBy('model-a', a);
    expect(await leaseHolder()).toBe(a.identity);
    expect(await isLeader(b)).toBe(false);
    expect(sample(await metrics(b), 'leader_election_master_status')).toBe(0);
    expect(await modelReconciles(b)).toBe(0);
    expect(await modelReconciles(a)).toBeGreaterThan(0);
    expect(await readyz(b)).toBe(200); // a standby is ready: it can take over
  });

  it('SIGTERM on the leader: the whole shutdown runs, it releases the Lease and the standby leads in < 15 s', async () => {
    const t0 = Date.now();
    expect(await stop(a, 'SIGTERM')).toBe(0);
    // In order: controllers stopped, then the NATS pool drained, then the Lease released; the
    // process logs `stopped` as it exits.
    const steps = ['shutting down', 'controller stopped', 'NATS connections drained', 'released the lease'];
    const seen = a.messages.filter((m) => [...steps, 'stopped'].includes(m));
    const firsts = seen.filter((m, i) => seen.indexOf(m) === i);
    expect(
      firsts.filter((m) => m !== 'stopped'),
      `shutdown log: ${seen.join(' → ')}`,
    ).toEqual(steps);
    expect(firsts).toContain('stopped');
    await eventually('operator-b leads', () => isLeader(b), 15_000);
    const handoverMs = Date.now() - t0;
    console.log(`graceful handover: ${(handoverMs / 1000).toFixed(1)} s`);
    expect(handoverMs).toBeLessThan(15_000);
    expect(await leaseHolder()).toBe(b.identity);
    await expectReconciledBy('model-b', b);
  });

  it('SIGKILL on the leader: a standby takes over once the lease expires', async () => {
    c = await spawnOperator('operator-c');
    await eventually('operator-c is a ready standby', async () => (await readyz(c)) === 200, 10_000);
    expect(await isLeader(c)).toBe(false);
    const transitions = (await getJson(ns, 'lease/prognos-operator')).spec.leaseTransitions as number;
    const t0 = Date.now();
    b.child.kill('SIGKILL');
    await b.exited;
    // Not before the lease (9 s from the last renewal, at most ~2 s before the kill) expired.
    await new Promise((r) => setTimeout(r, 5_000));
    expect(await isLeader(c)).toBe(false);
    expect(await leaseHolder()).toBe(b.identity);
    await eventually('operator-c leads', () => isLeader(c), 15_000);
    const takeoverMs = Date.now() - t0;
    console.log(`takeover after SIGKILL: ${(takeoverMs / 1000).toFixed(1)} s`);
    expect(takeoverMs).toBeGreaterThanOrEqual(6_500);
    // The failover budget; LEASE_TIMING allows 13.8 s plus the metrics poll.
    expect(takeoverMs).toBeLessThan(15_000);
    const lease = await getJson(ns, 'lease/prognos-operator');
    expect(lease.spec).toMatchObject({ holderIdentity: c.identity, leaseTransitions: transitions + 1 });
    await expectReconciledBy('model-c', c);
  });
});
