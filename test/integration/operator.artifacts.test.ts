// Real artifact stores through the operator and its runtime pods: an HTTPS server whose certificate
// a CA of the test signs (the CA in a Secret, trusted by verification and mounted into the pods), and
// the prognos-models bucket of the real nats-server's object store. Each failure is a False
// ArtifactVerified condition with its own reason while v1 keeps serving.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Objm } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrognosOperator } from '../../operator/prognosOperator.ts';
import { ensureCerts } from '../cluster/certs.ts';
import { kubeConfig } from './env.ts';
import {
  applyObject,
  createNamespace,
  deleteNamespace,
  fleetManifest,
  getJson,
  installCrds,
  type ModelFile,
  modelManifest,
  natsClient,
  secretManifest,
  tempDir,
  waitCondition,
  writeModel,
} from './operatorHarness.ts';

const MAX_BYTES = 8_192;
let ns: string;
let operator: PrognosOperator;
let nc: NatsConnection;
let server: Server;
let base: string;
const served = new Map<string, Uint8Array>();
const held: Array<() => void> = [];
let v1: ModelFile;
let v2: ModelFile;
let v1Bytes: Uint8Array;

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

async function servedVersion(): Promise<string | undefined> {
  const cm = await getJson(ns, 'configmap/pump-failure-runtime');
  return cm?.data?.['runtime.yaml']?.match(/^version: (\S+)$/m)?.[1];
}

function model(version: string, uri: string, digest: string, ca = true): Record<string, unknown> {
  const m = modelManifest(ns, 'pump-failure', 'pumps', { version, uri, sha256: digest });
  const spec = m.spec as { model: Record<string, unknown> };
  if (ca) spec.model.caSecretRef = { name: 'model-store-ca' };
  return m;
}

/** Applies a bad v2 and expects its refusal while v1 stays the served version. */
async function refused(manifest: Record<string, unknown>, reason: string): Promise<string> {
  await applyObject(manifest);
  const c = await waitCondition(ns, 'mm/pump-failure', 'ArtifactVerified', 'False', reason, 60_000);
  expect(await servedVersion()).toBe('v1');
  const mm = await getJson(ns, 'mm/pump-failure');
  expect(mm.status.stable.version).toBe('v1');
  await waitCondition(ns, 'mm/pump-failure', 'Available', 'True');
  return c.message;
}

beforeAll(async () => {
  await installCrds();
  ns = await createNamespace('op-artifacts');
  const dir = tempDir();
  const certs = await ensureCerts(join(dir, 'pki'));
  v1 = writeModel(dir, 'v1.onnx', 1);
  v2 = writeModel(dir, 'v2.onnx', 2);
  v1Bytes = readFileSync(v1.path);
  served.set('/v1.onnx', v1Bytes);
  served.set('/v2.onnx', readFileSync(v2.path));
  served.set('/huge.onnx', new Uint8Array(MAX_BYTES * 4));
  server = createServer(
    { cert: readFileSync(certs.apiServerCert), key: readFileSync(certs.apiServerKey) },
    (req, res) => {
      if (req.url === '/slow.onnx') {
        res.write(new Uint8Array(16));
        return held.push(() => res.end());
      }
      const body = served.get(req.url ?? '');
      if (!body) {
        res.statusCode = 404;
        return res.end();
      }
      res.end(body);
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await applyObject(secretManifest(ns, 'model-store-ca', { 'ca.crt': readFileSync(certs.caCert, 'utf8') }));
  ({ nc } = await natsClient());
  const store = await new Objm(nc).create('prognos-models');
  await store.putBlob({ name: `${ns}/v2.onnx` }, readFileSync(v2.path));
  await store.putBlob({ name: `${ns}/huge.onnx` }, new Uint8Array(MAX_BYTES * 4));
  operator = new PrognosOperator({
    kubeConfig: kubeConfig(),
    namespace: ns,
    leaderElection: false,
    handleSignals: false,
    artifactLimits: { maxBytes: MAX_BYTES, timeoutMs: 2_000 },
    logger: pino({ level: process.env.PROGNOS_TEST_LOG ?? 'warn' }),
  });
  await operator.start();
  await applyObject(fleetManifest(ns, 'pumps'));
});

afterAll(async () => {
  await operator?.stop();
  held.forEach((release) => release());
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  const store = await new Objm(nc).open('prognos-models');
  for (const name of ['v2.onnx', 'huge.onnx']) await store.delete(`${ns}/${name}`).catch(() => undefined);
  await nc?.close();
  await deleteNamespace(ns);
});

describe('artifacts from real stores', () => {
  it('serves v1 from an HTTPS server whose CA comes from a Secret, in the operator and the pod', async () => {
    await applyObject(model('v1', `${base}/v1.onnx`, sha256(v1Bytes)));
    // Ready needs the runtime pod to have fetched the artifact itself, through the mounted CA.
    await waitCondition(ns, 'mm/pump-failure', 'Ready', 'True', 'Serving', 120_000);
    const dep = await getJson(ns, 'deployment/pump-failure');
    expect(dep.spec.template.spec.volumes).toContainEqual({
      name: 'artifact-ca',
      secret: {
        secretName: 'model-store-ca',
        defaultMode: 0o440,
        items: [{ key: 'ca.crt', path: 'ca.crt' }],
      },
    });
    const cm = await getJson(ns, 'configmap/pump-failure-runtime');
    expect(cm.data['runtime.yaml']).toContain('caFile: /var/run/secrets/prognos/artifact-ca/ca.crt');
    expect(cm.data['runtime.yaml']).toContain(`maxBytes: ${MAX_BYTES}`);
  });

  it('a digest mismatch from https is ArtifactDigestMismatch', async () => {
    const message = await refused(model('v2', `${base}/v2.onnx`, v1.sha256), 'ArtifactDigestMismatch');
    expect(message).toContain(v2.sha256);
  });

  it('HTTP 404 is ArtifactNotFound', async () => {
    await refused(model('v2', `${base}/missing.onnx`, v2.sha256), 'ArtifactNotFound');
  });

  it('a body that does not finish within --artifact-timeout is ArtifactFetchTimeout', async () => {
    await refused(model('v2', `${base}/slow.onnx`, v2.sha256), 'ArtifactFetchTimeout');
  });

  it('an artifact above --max-artifact-bytes is ArtifactTooLarge, over https and nats-os', async () => {
    const huge = sha256(new Uint8Array(MAX_BYTES * 4));
    expect(await refused(model('v2', `${base}/huge.onnx`, huge), 'ArtifactTooLarge')).toContain(
      `limit of ${MAX_BYTES} bytes`,
    );
    await refused(model('v3', `nats-os://prognos-models/${ns}/huge.onnx`, huge, false), 'ArtifactTooLarge');
  });

  it('a server the trusted CAs do not vouch for is ArtifactTLSError', async () => {
    const message = await refused(model('v2', `${base}/v2.onnx`, v2.sha256, false), 'ArtifactTLSError');
    expect(message).toMatch(/TLS with 127\.0\.0\.1:\d+ failed/);
  });

  it('a missing object in the prognos-models bucket is ArtifactNotFound', async () => {
    await refused(
      model('v2', `nats-os://prognos-models/${ns}/v9.onnx`, v2.sha256, false),
      'ArtifactNotFound',
    );
  });

  it('v2 from the real object store replaces v1', async () => {
    await applyObject(model('v2', `nats-os://prognos-models/${ns}/v2.onnx`, v2.sha256, false));
    await waitCondition(ns, 'mm/pump-failure', 'ArtifactVerified', 'True', undefined, 60_000);
    await waitCondition(ns, 'mm/pump-failure', 'Ready', 'True', 'Serving', 120_000);
    expect(await servedVersion()).toBe('v2');
    expect((await getJson(ns, 'mm/pump-failure')).status.stable.version).toBe('v2');
  });
});
