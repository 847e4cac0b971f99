// The operator process (`operator/main.ts`) running as the ServiceAccount the chart installs, with the
// chart's RBAC and a token from the TokenRequest API (`kubectl create token`), never the admin
// kubeconfig: a SensorFleet (NATS credentials from a Secret) and a MaintenanceModel (two replicas:
// PDB; a ServiceMonitor while the CRD is installed; a GRPCRoute with the Gateway API's real CRD) go
// through create → Ready → update (the route no longer asked for: deleted) → delete with
// finalizers released, in both installs: one watched namespace (Role) and cluster-wide (ClusterRole).
// Any 403 fails the test: the objects must converge, and the operator's log must not say "forbidden".
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeConfig, kubectl, testEnv } from './env.ts';
import {
  applyObject,
  createNamespace,
  eventually,
  fleetManifest,
  getJson,
  installCrds,
  modelManifest,
  natsClient,
  natsUserCreds,
  ok,
  REPO,
  secretManifest,
  SERVICE_MONITOR_CRD,
  SERVICE_MONITOR_CRD_NAME,
  tempDir,
  waitCondition,
  waitEstablished,
  writeModel,
  type ModelFile,
} from './operatorHarness.ts';
import { manifests, renderChart } from './rbacManifests.ts';

/** A 403 in a log line; a namespace being deleted also answers 403, which is no RBAC denial. */
const FORBIDDEN = /forbidden|"statusCode":403/i;
const TERMINATING = /because it is being terminated/;
const GRPC_ROUTE_CRD_NAME = 'grpcroutes.gateway.networking.k8s.io';
const GRPC_ROUTE_CRD_FILE = 'gateway.networking.k8s.io_grpcroutes.yaml';

interface OperatorProcess {
  identity: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  log: string[];
}

let nc: NatsConnection;
let jsm: JetStreamManager;
let v1: ModelFile;
let v2: ModelFile;

beforeAll(async () => {
  await installCrds();
  await ok(
    ['apply', '--server-side', '--field-manager=test', '-f', '-'],
    JSON.stringify(SERVICE_MONITOR_CRD),
  );
  await ok(['apply', '--server-side', '-f', join(testEnv().binDir, GRPC_ROUTE_CRD_FILE)]);
  await waitEstablished(`crd/${SERVICE_MONITOR_CRD_NAME}`, `crd/${GRPC_ROUTE_CRD_NAME}`);
  ({ nc, jsm } = await natsClient());
  const dir = tempDir();
  v1 = writeModel(dir, 'v1.onnx', 71);
  v2 = writeModel(dir, 'v2.onnx', 72);
});

afterAll(async () => {
  await nc?.close();
  await kubectl(['delete', 'crd', SERVICE_MONITOR_CRD_NAME, '--ignore-not-found', '--wait=false']);
  await kubectl(['delete', 'crd', GRPC_ROUTE_CRD_NAME, '--ignore-not-found', '--wait=false']);
});

/** The chart's ServiceAccount and RBAC (nothing else: no Deployment, no CRDs), applied by the admin. */
async function installChartIdentity(release: string, opNs: string, values: Record<string, string>) {
  const objects = manifests(await renderChart(release, opNs, values)).filter((o) =>
    ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(o.kind!),
  );
  await ok(
    ['apply', '--server-side', '--field-manager=test', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }),
  );
  return objects;
}

/** A kubeconfig with the test cluster's server and CA, and a ServiceAccount token as the only credential. */
async function serviceAccountKubeconfig(sa: string, opNs: string): Promise<string> {
  const token = (await ok(['create', 'token', sa, '-n', opNs, '--duration=2h'])).trim();
  const cluster = kubeConfig().getCurrentCluster()!;
  const path = join(tempDir(), 'kubeconfig');
  writeFileSync(
    path,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'test',
          cluster: {
            server: cluster.server,
            ...(cluster.caData ? { 'certificate-authority-data': cluster.caData } : {}),
            ...(cluster.caFile ? { 'certificate-authority': cluster.caFile } : {}),
          },
        },
      ],
      users: [{ name: sa, user: { token } }],
      contexts: [{ name: sa, context: { cluster: 'test', user: sa } }],
      'current-context': sa,
    }),
  );
  return path;
}

async function spawnOperator(args: string[], opNs: string): Promise<OperatorProcess> {
  const name = 'rbac-operator';
  const child = spawn(join(REPO, 'scripts', 'node24'), [join(REPO, 'operator', 'main.ts'), ...args], {
    env: { ...process.env, POD_NAME: name, POD_NAMESPACE: opNs },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  createInterface({ input: child.stdout! }).on('line', (line) => log.push(line));
  createInterface({ input: child.stderr! }).on('line', (line) => log.push(line));
  await eventually(
    'the operator process started',
    async () => {
      if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}:\n${log.join('\n')}`);
      return log.some((l) => l.includes('"prognos operator started"'));
    },
    30_000,
  );
  return { identity: `${name}_${child.pid}`, child, exited, log };
}

function forbiddenLines(op: OperatorProcess): string[] {
  return op.log.filter((l) => FORBIDDEN.test(l) && !TERMINATING.test(l));
}

const streamName = (ns: string, fleet: string) =>
  `PROGNOS_${ns}_${fleet}`.toUpperCase().replace(/[^A-Z0-9_]/g, '_');

function lifecycle(mode: 'namespaced' | 'cluster-wide') {
  describe(`the operator as the chart's ServiceAccount (${mode})`, () => {
    const release = `rbac${mode === 'namespaced' ? 'ns' : 'cw'}${Math.random().toString(36).slice(2, 6)}`;
    const sa = `${release}-operator`;
    let opNs: string;
    let ns: string;
    let op: OperatorProcess;
    let clusterScoped: { kind: string; name: string }[] = [];

    beforeAll(async () => {
      opNs = await createNamespace('rbac-op');
      ns = await createNamespace('rbac-ns');
      const installed = await installChartIdentity(
        release,
        opNs,
        mode === 'namespaced' ? { watchNamespace: ns } : {},
      );
      clusterScoped = installed
        .filter((o) => o.kind!.startsWith('Cluster'))
        .map((o) => ({ kind: o.kind!, name: o.metadata!.name! }));
      const kubeconfig = await serviceAccountKubeconfig(sa, opNs);
      const flags = ['--kubeconfig', kubeconfig, '--leader-elect', '--metrics-port', '0'];
      op = await spawnOperator(mode === 'namespaced' ? [...flags, '--namespace', ns] : flags, opNs);
    });

    afterAll(async () => {
      if (op && op.child.exitCode === null && op.child.signalCode === null) {
        op.child.kill('SIGKILL');
        await op.exited;
      }
      for (const o of clusterScoped) await kubectl(['delete', o.kind, o.name, '--ignore-not-found']);
      for (const n of [ns, opNs]) if (n) await ok(['delete', 'namespace', n, '--wait=false']);
    });

    it('is the ServiceAccount, with no more than the chart grants', async () => {
      const kc = ['--kubeconfig', op.child.spawnargs[op.child.spawnargs.indexOf('--kubeconfig') + 1]!];
      const who = JSON.parse(await ok([...kc, 'auth', 'whoami', '-o', 'json'])) as {
        status: { userInfo: { username: string } };
      };
      expect(who.status.userInfo.username).toBe(`system:serviceaccount:${opNs}:${sa}`);
      const can = async (...args: string[]) =>
        (await kubectl([...kc, 'auth', 'can-i', ...args])).stdout.trim();
      expect(await can('list', 'secrets', '-n', ns)).toBe('yes');
      expect(await can('get', 'secrets', '-n', ns)).toBe('no');
      // Training Jobs: created and deleted, and a finished one's pods listed, never read otherwise.
      expect(await can('create', 'jobs.batch', '-n', ns)).toBe('yes');
      expect(await can('list', 'pods', '-n', ns)).toBe('yes');
      expect(await can('get', 'pods', '-n', ns)).toBe('no');
      expect(await can('update', 'jobs.batch', '-n', ns)).toBe('no');
      expect(await can('list', `customresourcedefinitions/${SERVICE_MONITOR_CRD_NAME}`)).toBe('yes');
      expect(await can('list', 'customresourcedefinitions')).toBe('no');
      expect(await can('list', `customresourcedefinitions/${GRPC_ROUTE_CRD_NAME}`)).toBe('yes');
      // GRPCRoutes: applied and deleted, never read.
      expect(await can('patch', GRPC_ROUTE_CRD_NAME, '-n', ns)).toBe('yes');
      expect(await can('delete', GRPC_ROUTE_CRD_NAME, '-n', ns)).toBe('yes');
      expect(await can('get', GRPC_ROUTE_CRD_NAME, '-n', ns)).toBe('no');
      if (mode === 'namespaced') {
        expect(await can('list', 'secrets', '--all-namespaces')).toBe('no');
        expect(await can('list', 'secrets', '-n', 'default')).toBe('no');
        expect(await can('list', 'sensorfleets.prognos.dev', '-n', 'default')).toBe('no');
      } else {
        expect(await can('list', 'secrets', '--all-namespaces')).toBe('yes');
      }
    });

    it('creates a fleet (credentials from a Secret) and a model, both Ready', async () => {
      await applyObject(secretManifest(ns, 'nats-creds', { creds: natsUserCreds().creds }));
      await applyObject(
        fleetManifest(ns, 'pumps', {
          nats: { url: testEnv().natsUrl, credentialsSecretRef: { name: 'nats-creds', key: 'creds' } },
        }),
      );
      await waitCondition(ns, 'sf/pumps', 'Ready', 'True', undefined, 60_000);
      await applyObject(
        modelManifest(
          ns,
          'pump-failure',
          'pumps',
          { version: 'v1', ...v1 },
          {
            serving: {
              replicas: 2,
              batching: { maxBatch: 64, maxDelayMs: 5 },
              grpcRoute: { parentRefs: [{ name: 'edge' }] },
            },
          },
        ),
      );
      await waitCondition(ns, 'mm/pump-failure', 'Ready', 'True', 'Serving', 120_000);
      expect(await getJson(ns, 'pdb/pump-failure')).toBeDefined();
      await eventually('the GRPCRoute', () => getJson(ns, `${GRPC_ROUTE_CRD_NAME}/pump-failure`));
      await eventually('the ServiceMonitor', () =>
        getJson(ns, 'servicemonitors.monitoring.coreos.com/pump-failure'),
      );
      // Events are recorded (events.k8s.io) by this process.
      const events = JSON.parse(await ok(['get', 'events.events.k8s.io', '-n', ns, '-o', 'json'])) as {
        items: { regarding: { name: string }; reportingInstance: string }[];
      };
      expect(
        events.items.filter((e) => e.regarding.name === 'pump-failure').map((e) => e.reportingInstance),
      ).toContain(op.identity);
      expect((await getJson(opNs, 'lease/prognos-operator'))?.spec?.holderIdentity).toBe(op.identity);
      expect(forbiddenLines(op)).toEqual([]);
    });

    it('follows updates: a new version on one replica (its PDB deleted), a new stream limit, a rotated Secret', async () => {
      await applyObject(
        modelManifest(
          ns,
          'pump-failure',
          'pumps',
          { version: 'v2', ...v2 },
          { serving: { replicas: 1, batching: { maxBatch: 64, maxDelayMs: 5 } } },
        ),
      );
      await eventually(
        'v2 stable and Ready',
        async () => {
          const mm = await getJson(ns, 'mm/pump-failure');
          const ready = mm?.status?.conditions?.find((c: { type: string }) => c.type === 'Ready');
          return mm?.status?.stable?.version === 'v2' && ready?.status === 'True';
        },
        120_000,
      );
      await eventually('the PDB deleted', async () => (await getJson(ns, 'pdb/pump-failure')) === undefined);
      await eventually(
        'the GRPCRoute deleted',
        async () => (await getJson(ns, `${GRPC_ROUTE_CRD_NAME}/pump-failure`)) === undefined,
      );

      await applyObject(
        fleetManifest(ns, 'pumps', {
          nats: { url: testEnv().natsUrl, credentialsSecretRef: { name: 'nats-creds', key: 'creds' } },
          stream: { maxAge: '2h' },
        }),
      );
      await eventually(
        'the stream max age updated',
        async () => (await jsm.streams.info(streamName(ns, 'pumps'))).config.max_age === 7200e9,
      );
      await applyObject(secretManifest(ns, 'nats-creds', { creds: natsUserCreds().creds }));
      await waitCondition(ns, 'sf/pumps', 'Ready', 'True');
      expect(forbiddenLines(op)).toEqual([]);
    });

    it('deletes the model and the fleet: finalizers released, split key and streams gone', async () => {
      const kv = await new Kvm(nc).open('prognos-rollouts');
      expect((await kv.get(`${ns}.pump-failure`))?.operation).toBe('PUT');
      await ok(['delete', '-n', ns, 'mm/pump-failure', '--wait=false']);
      await eventually('the model gone', async () => (await getJson(ns, 'mm/pump-failure')) === undefined);
      expect((await kv.get(`${ns}.pump-failure`))?.operation).not.toBe('PUT');
      await ok(['delete', '-n', ns, 'sf/pumps', '--wait=false']);
      await eventually('the fleet gone', async () => (await getJson(ns, 'sf/pumps')) === undefined);
      await expect(jsm.streams.info(streamName(ns, 'pumps'))).rejects.toThrow(/stream not found/);
      expect(forbiddenLines(op)).toEqual([]);
    });

    it('stops on SIGTERM, releasing its Lease, with no 403 in its whole log', async () => {
      op.child.kill('SIGTERM');
      expect(await op.exited).toBe(0);
      expect((await getJson(opNs, 'lease/prognos-operator'))?.spec?.holderIdentity ?? '').toBe('');
      expect(op.log.some((l) => l.includes('"released the lease"'))).toBe(true);
      expect(forbiddenLines(op)).toEqual([]);
    });
  });
}

lifecycle('namespaced');
lifecycle('cluster-wide');
