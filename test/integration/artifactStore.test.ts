// contracts/artifactStore.ts against real stores: an HTTPS server whose certificate a CA of the
// test's own signs, the real nats-server's object store, and files. Each failure has its own reason.
import { createServer, type Server } from 'node:https';
import { readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Objm } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactReadError, readArtifact, type ArtifactReadOptions } from '../../contracts/artifactStore.ts';
import { ensureCerts } from '../cluster/certs.ts';
import { testEnv } from './env.ts';
import { tempDir } from './operatorHarness.ts';

const bytes = new Uint8Array(4096).map((_, i) => i % 251);
let server: Server;
let base: string;
let ca: string;
let otherCa: string;
let nc: NatsConnection;
let dir: string;
const held: Array<() => void> = [];

async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ArtifactReadError) return error.failure;
    throw error;
  }
  return 'read';
}

beforeAll(async () => {
  dir = tempDir();
  const certs = await ensureCerts(join(dir, 'pki'));
  ca = readFileSync(certs.caCert, 'utf8');
  otherCa = readFileSync((await ensureCerts(join(dir, 'other-pki'))).caCert, 'utf8');
  server = createServer(
    { cert: readFileSync(certs.apiServerCert), key: readFileSync(certs.apiServerKey) },
    (req, res) => {
      if (req.url === '/model.onnx') return res.end(bytes);
      if (req.url === '/big-declared.onnx') {
        res.setHeader('content-length', 10_000);
        return res.end(new Uint8Array(10_000));
      }
      if (req.url === '/big-chunked.onnx') {
        // No content-length: the reader must stop at the limit while the body streams.
        for (let i = 0; i < 10; i++) res.write(new Uint8Array(1_000));
        return res.end();
      }
      if (req.url === '/slow.onnx') {
        res.write(bytes.subarray(0, 10));
        return held.push(() => res.end());
      }
      res.statusCode = 404;
      res.end('not here');
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  nc = await connect({ servers: testEnv().natsUrl });
  const store = await new Objm(nc).create('artifact-store-it');
  await store.putBlob({ name: 'pump/v1.onnx' }, bytes);
  await store.putBlob({ name: 'pump/big.onnx' }, new Uint8Array(10_000));
});

afterAll(async () => {
  held.forEach((release) => release());
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await (await new Objm(nc).open('artifact-store-it')).destroy();
  await nc?.close();
});

const opts = (more: Partial<ArtifactReadOptions> = {}): ArtifactReadOptions => ({
  maxBytes: 5_000,
  timeoutMs: 5_000,
  objectStore: (bucket) => new Objm(nc).open(bucket),
  ...more,
});

describe('https://', () => {
  it('reads through a CA given by the caller', async () => {
    expect(await readArtifact(`${base}/model.onnx`, opts({ ca }))).toEqual(bytes);
  });

  it('refuses a server the system roots or another CA do not vouch for (tls)', async () => {
    expect(await failure(readArtifact(`${base}/model.onnx`, opts()))).toBe('tls');
    expect(await failure(readArtifact(`${base}/model.onnx`, opts({ ca: otherCa })))).toBe('tls');
  });

  it('reports 404 as not_found', async () => {
    expect(await failure(readArtifact(`${base}/missing.onnx`, opts({ ca })))).toBe('not_found');
  });

  it('stops at the size limit, declared or streamed (too_large)', async () => {
    expect(await failure(readArtifact(`${base}/big-declared.onnx`, opts({ ca })))).toBe('too_large');
    expect(await failure(readArtifact(`${base}/big-chunked.onnx`, opts({ ca })))).toBe('too_large');
  });

  it('gives up on a body that does not finish in time (timeout)', async () => {
    const started = Date.now();
    expect(await failure(readArtifact(`${base}/slow.onnx`, opts({ ca, timeoutMs: 500 })))).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it('stops when the caller aborts', async () => {
    const abort = new AbortController();
    const read = failure(readArtifact(`${base}/slow.onnx`, opts({ ca, signal: abort.signal })));
    abort.abort();
    expect(await read).toBe('unreachable');
  });
});

describe('nats-os://', () => {
  it('reads an object of the real object store', async () => {
    expect(await readArtifact('nats-os://artifact-store-it/pump/v1.onnx', opts())).toEqual(bytes);
  });

  it('reports a missing object as not_found and a large one as too_large before reading it', async () => {
    expect(await failure(readArtifact('nats-os://artifact-store-it/pump/v9.onnx', opts()))).toBe('not_found');
    expect(await failure(readArtifact('nats-os://artifact-store-it/pump/big.onnx', opts()))).toBe(
      'too_large',
    );
  });
});

describe('file://', () => {
  it('reads a file, refuses a large one and reports a missing one', async () => {
    const path = join(dir, 'model.onnx');
    writeFileSync(path, bytes);
    expect(await readArtifact(`file://${path}`, opts())).toEqual(bytes);
    expect(await failure(readArtifact(`file://${path}`, opts({ maxBytes: 100 })))).toBe('too_large');
    expect(await failure(readArtifact(`file://${dir}/missing.onnx`, opts()))).toBe('not_found');
  });

  it('refuses other schemes', async () => {
    expect(await failure(readArtifact('s3://bucket/model.onnx', opts()))).toBe('unsupported');
  });
});
