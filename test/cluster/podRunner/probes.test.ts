import { Server, ServerCredentials } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePort, runProbe, type ProbeTarget } from './probes.ts';

const target = (extra: Partial<ProbeTarget> = {}): ProbeTarget => ({
  podIP: '127.0.0.1',
  ports: [{ name: 'http', containerPort: 0 }],
  env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
  cwd: '/',
  translate: (v) => v.replace('/mnt', '/tmp'),
  ...extra,
});

let http: HttpServer;
let httpPort = 0;
let grpc: Server;
let grpcPort = 0;
const health = new HealthImplementation({ '': 'SERVING', down: 'NOT_SERVING' });

beforeAll(async () => {
  http = createHttpServer((req, res) => {
    res.writeHead(req.url === '/ok' ? 200 : req.url === '/redirect' ? 302 : 500);
    res.end();
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  httpPort = (http.address() as AddressInfo).port;
  grpc = new Server();
  health.addToServer(grpc);
  grpcPort = await new Promise<number>((resolve, reject) =>
    grpc.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve(port),
    ),
  );
});

afterAll(async () => {
  http.close();
  grpc.forceShutdown();
});

describe('runProbe', () => {
  it.each([
    ['/ok', true],
    ['/redirect', true],
    ['/fail', false],
  ])('httpGet %s -> %s', async (path, ok) => {
    expect(await runProbe({ httpGet: { path, port: httpPort } }, target(), 1000)).toBe(ok);
  });

  it('httpGet resolves a named port', async () => {
    const t = target({ ports: [{ name: 'http', containerPort: httpPort }] });
    expect(await runProbe({ httpGet: { path: '/ok', port: 'http' } }, t, 1000)).toBe(true);
  });

  it('tcpSocket succeeds on a listening port and fails on a closed one', async () => {
    const srv = createTcpServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as AddressInfo).port;
    expect(await runProbe({ tcpSocket: { port } }, target(), 1000)).toBe(true);
    await new Promise((r) => srv.close(r));
    expect(await runProbe({ tcpSocket: { port } }, target(), 1000)).toBe(false);
  });

  it.each<[string[], boolean]>([
    [['true'], true],
    [['false'], false],
    [['test', '-d', '/mnt'], true],
    [['no-such-command-xyz'], false],
  ])('exec %j -> %s (paths translated)', async (command, ok) => {
    expect(await runProbe({ exec: { command } }, target(), 2000)).toBe(ok);
  });

  it('exec fails when the command outlives the timeout', async () => {
    const started = Date.now();
    expect(await runProbe({ exec: { command: ['sleep', '5'] } }, target(), 200)).toBe(false);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it.each([
    ['', true],
    ['down', false],
    ['unknown-service', false],
  ])('grpc health of service %j -> %s', async (service, ok) => {
    expect(await runProbe({ grpc: { port: grpcPort, service } }, target(), 2000)).toBe(ok);
  });

  it('resolvePort rejects an unknown port name', () => {
    expect(() => resolvePort('metrics', [])).toThrow(/no container port named metrics/);
    expect(resolvePort('8080', [])).toBe(8080);
  });
});
