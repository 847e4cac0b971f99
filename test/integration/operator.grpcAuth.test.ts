// spec.serving.grpc.auth and rateLimit end to end: the operator renders them into the runtime
// config and mounts the JWKS Secret; the pod (run by the pod runner) then admits a token signed by
// a key of that JWKS, refuses a call without one, and keeps health open.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { NatsConnection } from '@nats-io/transport-node';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { PrognosOperator } from '../../operator/prognosOperator.ts';
import {
  INFERENCE_SERVICE,
  PROTO_FILE,
  PROTO_LOADER_OPTIONS,
} from '../../runtimes/inference/serve/grpcServer.ts';
import {
  applyObject,
  createNamespace,
  deleteNamespace,
  eventually,
  fleetManifest,
  getJson,
  installCrds,
  modelManifest,
  natsClient,
  ok,
  startOperator,
  tempDir,
  waitCondition,
  writeModel,
} from './operatorHarness.ts';

const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const AUDIENCE = 'prognos-inference';

type Callback = (err: grpc.ServiceError | null, res: Record<string, unknown>) => void;
type Client = grpc.Client &
  Record<string, (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: Callback) => void>;

let ns: string;
let operator: PrognosOperator;
let nc: NatsConnection;
const clients: grpc.Client[] = [];

function clientFor(file: string, path: string[], address: string): Client {
  let node: unknown = grpc.loadPackageDefinition(protoLoader.loadSync(file, PROTO_LOADER_OPTIONS));
  for (const p of path) node = (node as Record<string, unknown>)[p];
  const client = new (node as grpc.ServiceClientConstructor)(
    address,
    grpc.credentials.createInsecure(),
  ) as unknown as Client;
  clients.push(client);
  return client;
}

function call(client: Client, method: string, req: unknown, token?: string): Promise<grpc.status> {
  const md = new grpc.Metadata();
  if (token) md.set('authorization', `Bearer ${token}`);
  return new Promise((resolve) =>
    client[method]!(req, md, { deadline: Date.now() + 10_000 }, (err) =>
      resolve(err ? err.code : grpc.status.OK),
    ),
  );
}

beforeAll(async () => {
  await installCrds();
  ns = await createNamespace('op-grpc-auth');
  operator = await startOperator(ns);
  ({ nc } = await natsClient());
  await applyObject(fleetManifest(ns, 'pumps'));
});

afterAll(async () => {
  for (const c of clients) c.close();
  await operator?.stop();
  await nc?.close();
  await deleteNamespace(ns);
});

describe('gRPC auth of a MaintenanceModel', () => {
  it('mounts the JWKS Secret, admits a signed ServiceAccount-style token, refuses none, limits the rate', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'cluster-1', alg: 'RS256', use: 'sig' }] };
    await applyObject({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'cluster-jwks', namespace: ns },
      stringData: { 'jwks.json': JSON.stringify(jwks) },
    });
    const v1 = writeModel(tempDir(), 'v1.onnx', 21);
    const manifest = modelManifest(ns, 'pump-failure', 'pumps', { version: 'v1', ...v1 });
    (manifest.spec as { serving: Record<string, unknown> }).serving.grpc = {
      port: 50051,
      auth: { jwt: { jwksSecretRef: { name: 'cluster-jwks' }, issuer: ISSUER, audiences: [AUDIENCE] } },
      rateLimit: { requestsPerSecond: 0.01, burst: 3 },
    };
    await applyObject(manifest);
    await waitCondition(ns, 'mm/pump-failure', 'Ready', 'True', 'Serving', 120_000);

    const cm = await getJson(ns, 'configmap/pump-failure-runtime');
    expect(parseYaml(cm.data['runtime.yaml']).grpc).toMatchObject({
      auth: {
        jwt: {
          jwksFile: '/var/run/secrets/prognos/grpc-jwks/jwks.json',
          issuer: ISSUER,
          audiences: [AUDIENCE],
        },
      },
      rateLimit: { requestsPerSecond: 0.01, burst: 3 },
    });

    const podIp = await eventually('the runtime pod has an IP', async () => {
      const pods = JSON.parse(
        await ok(['get', 'pods', '-n', ns, '-l', 'prognos.dev/model=pump-failure', '-o', 'json']),
      ) as { items: { status?: { phase?: string; podIP?: string } }[] };
      const running = pods.items.filter((p) => p.status?.phase === 'Running');
      return running.length === 1 ? running[0]!.status?.podIP : undefined;
    });
    const address = `${podIp}:50051`;
    const client = clientFor(PROTO_FILE, ['prognos', 'inference', 'v1', 'InferenceService'], address);
    const request = {
      reading: { machineId: 'pump-e1', tsMs: Date.now(), features: { vibration: 3, temperature: 60 } },
    };
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'cluster-1' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(`system:serviceaccount:${ns}:dashboard`)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(privateKey);

    expect(await call(client, 'Predict', request)).toBe(grpc.status.UNAUTHENTICATED);
    const withToken = [];
    for (let i = 0; i < 4; i++) withToken.push(await call(client, 'Predict', request, token));
    expect(withToken).toEqual([
      grpc.status.OK,
      grpc.status.OK,
      grpc.status.OK,
      grpc.status.RESOURCE_EXHAUSTED,
    ]);

    const health = clientFor(
      healthProtoPath,
      ['grpc', 'health', 'v1', 'Health'],
      address,
    ) as unknown as grpc.Client & Record<string, (req: unknown, cb: Callback) => void>;
    const status = await new Promise<unknown>((resolve, reject) =>
      health['check']!({ service: INFERENCE_SERVICE }, (err, res) =>
        err ? reject(err) : resolve(res.status),
      ),
    );
    expect(status).toBe('SERVING');
  });
});
