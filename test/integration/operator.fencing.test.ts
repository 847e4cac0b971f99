// Fencing: a leader whose Lease is taken over while a reconcile waits on an artifact fetch (an HTTPS
// server holds the response open) makes no write after the takeover — not to the model, its status,
// its children or Events — and the replica now named in the Lease reconciles the model alone.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { microTime } from '../../operator/framework/microTime.ts';
import { PrognosOperator } from '../../operator/prognosOperator.ts';
import { ensureCerts } from '../cluster/certs.ts';
import { kubeConfig } from './env.ts';
import {
  applyObject,
  createNamespace,
  deleteNamespace,
  eventually,
  fleetManifest,
  getJson,
  installCrds,
  modelManifest,
  ok,
  secretManifest,
  tempDir,
  waitCondition,
  writeModel,
} from './operatorHarness.ts';

const LEASE = 'prognos-fencing';
let ns: string;
let server: Server;
let base: string;
let modelBytes: Uint8Array;
/** The first fetch of the artifact waits here until the test releases it. */
let releaseHeld: (() => void) | undefined;
let fetches = 0;
const running: PrognosOperator[] = [];

function replica(identity: string, registry: Registry): PrognosOperator {
  const op = new PrognosOperator({
    kubeConfig: kubeConfig(),
    namespace: ns,
    leaderElection: { namespace: ns, name: LEASE },
    identity,
    handleSignals: false,
    registry,
    artifactLimits: { maxBytes: 1 << 20, timeoutMs: 120_000 },
    logger: pino({ level: process.env.PROGNOS_TEST_LOG ?? 'warn' }),
  });
  running.push(op);
  return op;
}

/** The operator's Events in the namespace (not the cluster's own controllers'). */
async function operatorEvents(): Promise<{ reason: string; reportingInstance: string }[]> {
  const list = JSON.parse(await ok(['get', 'events.events.k8s.io', '-n', ns, '-o', 'json'])) as {
    items: { reason: string; reportingController?: string; reportingInstance: string }[];
  };
  return list.items.filter((e) => e.reportingController === 'prognos.dev/operator');
}

/** What the test cluster holds that the operator writes: its resourceVersions and the Events. */
async function writtenState(): Promise<Record<string, unknown>> {
  const mm = await getJson(ns, 'mm/pump-failure');
  const sf = await getJson(ns, 'sf/pumps');
  return {
    model: mm?.metadata?.resourceVersion,
    fleet: sf?.metadata?.resourceVersion,
    configMap: (await getJson(ns, 'configmap/pump-failure-runtime'))?.metadata?.resourceVersion,
    deployment: (await getJson(ns, 'deployment/pump-failure'))?.metadata?.resourceVersion,
    events: (await operatorEvents()).length,
  };
}

beforeAll(async () => {
  await installCrds();
  ns = await createNamespace('op-fencing');
  const dir = tempDir();
  const certs = await ensureCerts(join(dir, 'pki'));
  modelBytes = readFileSync(writeModel(dir, 'v1.onnx', 7).path);
  server = createServer(
    { cert: readFileSync(certs.apiServerCert), key: readFileSync(certs.apiServerKey) },
    (req, res) => {
      if (req.url !== '/v1.onnx') return res.writeHead(404).end();
      fetches++;
      if (fetches > 1) return res.end(modelBytes);
      res.writeHead(200, { 'content-length': modelBytes.length });
      releaseHeld = () => res.end(modelBytes);
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await applyObject(secretManifest(ns, 'model-store-ca', { 'ca.crt': readFileSync(certs.caCert, 'utf8') }));
});

afterAll(async () => {
  await Promise.all(running.map((op) => op.stop()));
  releaseHeld?.();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  if (ns) await deleteNamespace(ns);
});

describe('a leader whose Lease is taken mid-reconcile', () => {
  it('makes no write after the takeover; the new holder reconciles alone', async () => {
    const registryA = new Registry();
    const a = replica('replica-a', registryA);
    await a.start();
    await eventually('replica-a leads', async () => a.operator.isRunning(), 30_000);
    await applyObject(fleetManifest(ns, 'pumps'));
    await waitCondition(ns, 'sf/pumps', 'StreamReady', 'True', undefined, 30_000);

    const manifest = modelManifest(ns, 'pump-failure', 'pumps', {
      version: 'v1',
      uri: `${base}/v1.onnx`,
      sha256: createHash('sha256').update(modelBytes).digest('hex'),
    });
    (manifest.spec as { model: Record<string, unknown> }).model.caSecretRef = { name: 'model-store-ca' };
    await applyObject(manifest);
    await eventually('the artifact fetch is held open', async () => releaseHeld !== undefined, 30_000);
    // The finalizer went on before the fetch; let any write already in flight land.
    await new Promise((r) => setTimeout(r, 500));
    const before = await writtenState();
    expect(before.configMap).toBeUndefined();

    // Someone else now holds the Lease (what a replica does once it saw the lease expire).
    const renewTime = microTime(new Date());
    await ok([
      'patch',
      'lease',
      LEASE,
      '-n',
      ns,
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { holderIdentity: 'replica-b', leaseDurationSeconds: 60, renewTime } }),
    ]);
    await eventually('replica-a steps down', async () => !a.operator.isLeader(), 10_000);
    releaseHeld!(); // the fetch may complete now: nothing may follow from it
    await new Promise((r) => setTimeout(r, 5_000));
    expect(await writtenState()).toEqual(before);
    const metrics = await registryA.metrics();
    expect(metrics).toMatch(
      /controller_runtime_reconcile_total\{controller="maintenancemodel",result="fenced"\} [1-9]/,
    );
    expect((await getJson(ns, `lease/${LEASE}`)).spec.holderIdentity).toBe('replica-b');

    // The replica the Lease names leads at once and brings the model up; every Event since is its own.
    const b = replica('replica-b', new Registry());
    await b.start();
    await waitCondition(ns, 'mm/pump-failure', 'ArtifactVerified', 'True', 'DigestAndInputsVerified', 60_000);
    await eventually(
      'the runtime ConfigMap',
      async () => getJson(ns, 'configmap/pump-failure-runtime'),
      30_000,
    );
    const events = await operatorEvents();
    const byB = events.filter((e) => e.reportingInstance === 'replica-b');
    expect(byB.length).toBeGreaterThan(0);
    expect(events.length - byB.length).toBe(before.events); // replica-a's are all from before the takeover
    expect(a.operator.isLeader()).toBe(false); // replica-a waits out replica-b's lease
  });
});
