// gRPC with TLS and mutual TLS from mounted PEM files (generated here with openssl).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTO_FILE, PROTO_LOADER_OPTIONS } from '../../runtimes/inference/serve/grpcServer.ts';
import { startRuntime, type Runtime } from '../../runtimes/inference/runtime.ts';
import { runtimeConfig, startTestNats, writeClassifier, type TestNats } from './inferenceHarness.ts';

type Client = grpc.Client & {
  Predict(req: unknown, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null) => void): void;
};

let nats: TestNats;
let rt: Runtime;
let dir: string;

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA. */
function makePki(): void {
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=test-ca',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
  );
  for (const [name, ext] of [
    ['server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth'],
    ['client', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    openssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
    );
    execFileSync('bash', ['-c', `printf '${ext}\\n' > ${name}.ext`], { cwd: dir });
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    );
  }
}

function client(credentials: grpc.ChannelCredentials): Client {
  const def = protoLoader.loadSync(PROTO_FILE, PROTO_LOADER_OPTIONS);
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    prognos: { inference: { v1: { InferenceService: grpc.ServiceClientConstructor } } };
  };
  return new pkg.prognos.inference.v1.InferenceService(
    `127.0.0.1:${rt.grpcPort}`,
    credentials,
  ) as unknown as Client;
}

function predict(c: Client): Promise<grpc.status> {
  const reading = {
    machineId: 'pump-tls',
    tsMs: Date.now(),
    features: { vibration: 1, temperature: 60, pressure: 2 },
  };
  return new Promise((resolve) =>
    c.Predict({ reading }, { deadline: Date.now() + 5000 }, (err) =>
      resolve(err ? err.code : grpc.status.OK),
    ),
  );
}

beforeAll(async () => {
  nats = await startTestNats();
  dir = nats.dir;
  makePki();
  const config = runtimeConfig(nats.server.url, writeClassifier(dir), {
    input: {
      mode: 'core',
      subject: 'plant-a.pumps.*.readings',
      queueGroup: 'tls',
      machineId: { subjectToken: 3 },
    },
    grpc: {
      port: 0,
      host: '127.0.0.1',
      tls: {
        caFile: join(dir, 'ca.crt'),
        certFile: join(dir, 'server.crt'),
        keyFile: join(dir, 'server.key'),
        requireClientCert: true,
      },
    },
  });
  rt = await startRuntime(config, { logger: pino({ level: 'warn' }) });
});

afterAll(async () => {
  await rt?.stop();
  await nats?.cleanup();
});

describe('gRPC mTLS', () => {
  const pem = (name: string) => readFileSync(join(dir, name));

  it('serves a client presenting a certificate signed by the CA', async () => {
    const c = client(grpc.credentials.createSsl(pem('ca.crt'), pem('client.key'), pem('client.crt')));
    expect(await predict(c)).toBe(grpc.status.OK);
    c.close();
  });

  it('rejects a client without a certificate, and a plaintext client', async () => {
    const noCert = client(grpc.credentials.createSsl(pem('ca.crt')));
    expect(await predict(noCert)).toBe(grpc.status.UNAVAILABLE);
    noCert.close();
    const plain = client(grpc.credentials.createInsecure());
    expect(await predict(plain)).toBe(grpc.status.UNAVAILABLE);
    plain.close();
  });
});
