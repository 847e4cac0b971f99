// Who may call the runtime's gRPC API, against a real runtime (real nats-server, real ONNX model):
// JWTs signed in the test with keys generated in the test, verified against a JWKS file (as a
// mounted Secret) or a JWKS URL; expired, wrong-audience, wrong-issuer, wrong-key and missing
// tokens get UNAUTHENTICATED on every method; a caller over its rate gets RESOURCE_EXHAUSTED; health
// and reflection (called with a real grpcurl) stay open without a token.
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  INFERENCE_SERVICE,
  PROTO_FILE,
  PROTO_LOADER_OPTIONS,
} from '../../runtimes/inference/serve/grpcServer.ts';
import { startRuntime, type Runtime } from '../../runtimes/inference/runtime.ts';
import { ensureBinaries } from '../cluster/binaries.ts';
import {
  connectTo,
  metricValue,
  runtimeConfig,
  startTestNats,
  writeClassifier,
  type ModelFile,
  type TestNats,
} from './inferenceHarness.ts';

const ISSUER = 'https://issuer.prognos.test';
const AUDIENCE = 'prognos-inference';

type Callback = (err: grpc.ServiceError | null, res: Record<string, unknown>) => void;
type Client = grpc.Client &
  Record<string, (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb?: Callback) => unknown>;

let nats: TestNats;
let nc: NatsConnection;
let model: ModelFile;
let grpcurlBin: string;
let signingKey: CryptoKey;
let strangerKey: CryptoKey;
let jwks: { keys: JWK[] };
const runtimes: Runtime[] = [];
const clients: grpc.Client[] = [];

function clientFor<T extends grpc.Client>(file: string, path: string[], port: number): T {
  let node: unknown = grpc.loadPackageDefinition(protoLoader.loadSync(file, PROTO_LOADER_OPTIONS));
  for (const p of path) node = (node as Record<string, unknown>)[p];
  const client = new (node as grpc.ServiceClientConstructor)(
    `127.0.0.1:${port}`,
    grpc.credentials.createInsecure(),
  ) as unknown as T;
  clients.push(client);
  return client;
}

const withToken = (token?: string): grpc.Metadata => {
  const md = new grpc.Metadata();
  if (token !== undefined) md.set('authorization', `Bearer ${token}`);
  return md;
};

function unary(
  client: Client,
  method: string,
  req: unknown,
  token?: string,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    client[method]!(req, withToken(token), { deadline: Date.now() + 10_000 }, (err, res) =>
      err ? reject(err) : resolve(res),
    );
  });
}

/** The status a call ends with: OK, or the error's code and details. */
async function outcome(
  client: Client,
  method: string,
  req: unknown,
  token?: string,
): Promise<{ code: grpc.status; details: string }> {
  if (method === 'StreamPredictions') {
    const stream = client[method]!(req, withToken(token), {
      deadline: Date.now() + 1500,
    }) as grpc.ClientReadableStream<unknown>;
    stream.on('data', () => undefined);
    return new Promise((resolve) => {
      stream.on('status', (s: grpc.StatusObject) => resolve({ code: s.code, details: s.details }));
      stream.on('error', () => undefined);
    });
  }
  return unary(client, method, req, token).then(
    () => ({ code: grpc.status.OK, details: '' }),
    (e: grpc.ServiceError) => ({ code: e.code, details: e.details }),
  );
}

interface Claims {
  iss?: string;
  aud?: string;
  sub?: string;
  exp?: number | string;
}
function sign(claims: Claims, key = signingKey, kid = 'test-1'): Promise<string> {
  const jwt = new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' }).setIssuedAt();
  if (claims.iss) jwt.setIssuer(claims.iss);
  if (claims.aud) jwt.setAudience(claims.aud);
  if (claims.sub) jwt.setSubject(claims.sub);
  if (claims.exp !== undefined) jwt.setExpirationTime(claims.exp);
  return jwt.sign(key);
}
const good = (sub: string): Claims => ({ iss: ISSUER, aud: AUDIENCE, sub, exp: '10m' });

async function start(grpcSection: Record<string, unknown>): Promise<Runtime> {
  const rt = await startRuntime(
    runtimeConfig(nats.server.url, model, { grpc: { port: 0, host: '127.0.0.1', ...grpcSection } }),
    { logger: pino({ level: 'warn' }) },
  );
  runtimes.push(rt);
  return rt;
}

/** `grpcurl [flags] <runtime> [args]`, as a user types it. */
function grpcurl(
  port: number,
  flags: string[],
  args: string[],
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      grpcurlBin,
      ['-plaintext', '-max-time', '20', '-format-error', ...flags, `127.0.0.1:${port}`, ...args],
      (error, stdout, stderr) =>
        resolve({ exitCode: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

const reading = (machineId: string) => ({
  machineId,
  tsMs: Date.now(),
  features: { vibration: 3, temperature: 70, pressure: 2 },
});

/** One valid request per InferenceService method. */
const METHODS: [string, unknown][] = [
  ['Predict', { reading: reading('pump-a1') }],
  ['PredictBatch', { readings: [reading('pump-a1'), reading('pump-a2')] }],
  ['StreamPredictions', { machineId: 'pump-a1' }],
  ['GetMachineHealth', { machineId: 'pump-a1' }],
  ['SubmitFeedback', { machineId: 'pump-a1', event: 'inspection', tsMs: 0, note: '' }],
];
/** What each method answers a caller who got through (GetMachineHealth: nothing scored over NATS). */
const ADMITTED: Record<string, grpc.status> = {
  Predict: grpc.status.OK,
  PredictBatch: grpc.status.OK,
  StreamPredictions: grpc.status.OK,
  GetMachineHealth: grpc.status.NOT_FOUND,
  SubmitFeedback: grpc.status.OK,
};

beforeAll(async () => {
  grpcurlBin = (await ensureBinaries()).grpcurl;
  nats = await startTestNats();
  nc = await connectTo(nats.server.url);
  model = writeClassifier(nats.dir);
  await (
    await jetstreamManager(nc)
  ).streams.add({ name: 'plant-a-pumps', subjects: ['plant-a.pumps.*.readings'] });
  const pair = await generateKeyPair('ES256');
  const stranger = await generateKeyPair('ES256');
  signingKey = pair.privateKey;
  strangerKey = stranger.privateKey;
  jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'test-1', alg: 'ES256', use: 'sig' }] };
});

afterAll(async () => {
  for (const c of clients) c.close();
  for (const rt of runtimes) await rt.stop();
  await nc?.close();
  await nats?.cleanup();
});

describe('bearer JWTs verified against a JWKS file, with a per-subject rate limit', () => {
  let rt: Runtime;
  let client: Client;

  beforeAll(async () => {
    const jwksFile = join(nats.dir, 'jwks.json');
    writeFileSync(jwksFile, JSON.stringify(jwks));
    rt = await start({
      auth: { jwt: { jwksFile, issuer: ISSUER, audiences: [AUDIENCE] } },
      // Refill so slow (one call per 100 s) that only the burst counts during the test.
      rateLimit: { requestsPerSecond: 0.01, burst: 3 },
    });
    client = clientFor<Client>(PROTO_FILE, ['prognos', 'inference', 'v1', 'InferenceService'], rt.grpcPort);
  });

  it.each(METHODS)('%s admits a valid token', async (method, req) => {
    // One subject per method, so the rate limit (burst 3) does not interfere.
    const token = await sign(good(`svc-${method}`));
    expect(await outcome(client, method, req, token)).toMatchObject({ code: ADMITTED[method] });
  });

  it('Predict with a valid token scores the reading', async () => {
    const res = (await unary(
      client,
      'Predict',
      { reading: reading('pump-a3') },
      await sign(good('scorer')),
    )) as {
      prediction: { machineId: string; modelVersion: string };
    };
    expect(res.prediction).toMatchObject({ machineId: 'pump-a3', modelVersion: 'v1' });
  });

  const refused: [string, () => Promise<string | undefined>, string][] = [
    ['missing', () => Promise.resolve(undefined), 'missing bearer token'],
    ['expired', () => sign({ ...good('bob'), exp: Math.floor(Date.now() / 1000) - 3600 }), 'token expired'],
    ['for another audience', () => sign({ ...good('bob'), aud: 'another-service' }), '"aud" claim'],
    ['from another issuer', () => sign({ ...good('bob'), iss: 'https://evil.test' }), '"iss" claim'],
    ['signed by a key the JWKS lacks', () => sign(good('bob'), strangerKey, 'stranger'), 'no key matches'],
    [
      'signed by another key under the known kid',
      () => sign(good('bob'), strangerKey),
      'signature verification failed',
    ],
  ];
  for (const [method, req] of METHODS) {
    it.each(refused)(`${method} refuses a token %s with UNAUTHENTICATED`, async (_, token, details) => {
      const result = await outcome(client, method, req, await token());
      expect(result.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(result.details).toContain(details);
    });
  }

  it('counts refused calls in prognos_inference_grpc_requests_total', async () => {
    const text = await rt.metrics.registry.metrics();
    expect(
      metricValue(
        text,
        'prognos_inference_grpc_requests_total',
        `{method="Predict",code="${grpc.status.UNAUTHENTICATED}"}`,
      ),
    ).toBe(refused.length);
  });

  it("answers RESOURCE_EXHAUSTED past a subject's burst, while other subjects still get through", async () => {
    const greedy = await sign(good('greedy'));
    const codes: grpc.status[] = [];
    for (let i = 0; i < 5; i++) codes.push((await outcome(client, 'Predict', METHODS[0]![1], greedy)).code);
    expect(codes).toEqual([
      grpc.status.OK,
      grpc.status.OK,
      grpc.status.OK,
      grpc.status.RESOURCE_EXHAUSTED,
      grpc.status.RESOURCE_EXHAUSTED,
    ]);
    // A new token of the same subject is the same caller.
    const again = await outcome(client, 'Predict', METHODS[0]![1], await sign(good('greedy')));
    expect(again).toEqual({
      code: grpc.status.RESOURCE_EXHAUSTED,
      details: 'rate limit exceeded for sub:greedy',
    });
    expect((await outcome(client, 'Predict', METHODS[0]![1], await sign(good('polite')))).code).toBe(
      grpc.status.OK,
    );
  });

  it('leaves grpc.health.v1 open without a token', async () => {
    const health = clientFor<grpc.Client & Record<string, (req: unknown, cb: Callback) => void>>(
      healthProtoPath,
      ['grpc', 'health', 'v1', 'Health'],
      rt.grpcPort,
    );
    for (let i = 0; i < 5; i++) {
      const res = await new Promise<Record<string, unknown>>((resolve, reject) =>
        health['check']!({ service: INFERENCE_SERVICE }, (err, r) => (err ? reject(err) : resolve(r))),
      );
      expect(res.status).toBe('SERVING');
    }
  });

  it('leaves reflection open without a token: grpcurl lists and describes, and a call without a token is refused', async () => {
    const list = await grpcurl(rt.grpcPort, [], ['list']);
    expect(list.exitCode, list.stderr).toBe(0);
    expect(list.stdout).toContain(INFERENCE_SERVICE);
    const describe = await grpcurl(rt.grpcPort, [], ['describe', 'prognos.inference.v1.Reading']);
    expect(describe.stdout).toContain('map<string, double> features = 3;');
    const request = JSON.stringify({
      reading: { machine_id: 'pump-a4', features: { vibration: 3, temperature: 70, pressure: 2 } },
    });
    const call = await grpcurl(rt.grpcPort, ['-d', request], [`${INFERENCE_SERVICE}/Predict`]);
    expect(call.exitCode).toBe(64 + grpc.status.UNAUTHENTICATED);
    const bearer = `authorization: Bearer ${await sign(good('grpcurl-user'))}`;
    const withHeader = await grpcurl(
      rt.grpcPort,
      ['-H', bearer, '-d', request],
      [`${INFERENCE_SERVICE}/Predict`],
    );
    expect(withHeader.exitCode, withHeader.stderr).toBe(0);
    expect(JSON.parse(withHeader.stdout)).toMatchObject({ prediction: { machine_id: 'pump-a4' } });
  });
});

describe('bearer JWTs verified against a JWKS URL', () => {
  let server: Server;
  let fetches = 0;
  let client: Client;

  beforeAll(async () => {
    server = createServer((req, res) => {
      fetches++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/openid/v1/jwks`;
    const rt = await start({ auth: { jwt: { jwksUrl, issuer: ISSUER, audiences: ['first', AUDIENCE] } } });
    client = clientFor<Client>(PROTO_FILE, ['prognos', 'inference', 'v1', 'InferenceService'], rt.grpcPort);
  });

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
  });

  it('admits a token whose key the URL serves and refuses others', async () => {
    expect((await outcome(client, 'Predict', METHODS[0]![1], await sign(good('carol')))).code).toBe(
      grpc.status.OK,
    );
    expect(fetches).toBeGreaterThanOrEqual(1);
    const stranger = await outcome(
      client,
      'Predict',
      METHODS[0]![1],
      await sign(good('carol'), strangerKey, 'x'),
    );
    expect(stranger.code).toBe(grpc.status.UNAUTHENTICATED);
    const expired = await sign({ ...good('carol'), exp: Math.floor(Date.now() / 1000) - 3600 });
    expect((await outcome(client, 'Predict', METHODS[0]![1], expired)).code).toBe(
      grpc.status.UNAUTHENTICATED,
    );
  });
});

describe('a rate limit without auth', () => {
  it('limits each peer address', async () => {
    const rt = await start({ rateLimit: { requestsPerSecond: 0.01, burst: 2 } });
    const client = clientFor<Client>(
      PROTO_FILE,
      ['prognos', 'inference', 'v1', 'InferenceService'],
      rt.grpcPort,
    );
    const codes: grpc.status[] = [];
    for (let i = 0; i < 3; i++) codes.push((await outcome(client, 'Predict', METHODS[0]![1])).code);
    expect(codes).toEqual([grpc.status.OK, grpc.status.OK, grpc.status.RESOURCE_EXHAUSTED]);
    const details = (await outcome(client, 'Predict', METHODS[0]![1])).details;
    expect(details).toBe('rate limit exceeded for peer:127.0.0.1');
  });
});
