import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRuntimeConfig } from '../../../contracts/runtimeConfig.ts';
import { alertmanagerClient, type AlertmanagerConfig } from './alertmanagerClient.ts';

let server: Server;
const dir = mkdtempSync(join(tmpdir(), 'am-client-'));
let url: string;
let status = 200;
const seen: { path: string; authorization: string | undefined; body: string }[] = [];

const read = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => resolve(body));
  });

beforeAll(async () => {
  server = createServer((req, res) => {
    void read(req).then((body) => {
      seen.push({ path: req.url ?? '', authorization: req.headers.authorization, body });
      res.statusCode = status;
      res.end(status === 200 ? '' : 'bad things');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/prefix`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

/** The runtime config's alerting.alertmanager with its defaults. */
function configOf(over: Record<string, unknown>): AlertmanagerConfig {
  return parseRuntimeConfig({
    namespace: 'ns',
    fleet: 'f',
    model: 'm',
    version: 'v1',
    role: 'stable',
    task: 'classification',
    nats: { servers: ['nats://127.0.0.1:4222'] },
    input: { mode: 'core', subject: 'a.*', machineId: { subjectToken: 2 } },
    schema: { features: [{ name: 'x' }] },
    thresholds: { warning: 0.5, critical: 0.8 },
    alerting: { alertmanager: { url, ...over } },
  }).alerting!.alertmanager;
}

const alert = {
  labels: { alertname: 'a' },
  annotations: {},
  startsAt: new Date(0).toISOString(),
  endsAt: new Date(1).toISOString(),
};

describe('Alertmanager client', () => {
  it('POSTs the alerts as JSON under the URL path, with a bearer token read from its file each time', async () => {
    writeFileSync(join(dir, 'token'), 'first\n');
    const post = alertmanagerClient(configOf({ bearerTokenFile: join(dir, 'token') }));
    status = 200;
    expect(await post([alert])).toEqual({ ok: true });
    writeFileSync(join(dir, 'token'), 'second');
    await post([alert]);
    expect(seen.slice(-2).map((s) => [s.path, s.authorization])).toEqual([
      ['/prefix/api/v2/alerts', 'Bearer first'],
      ['/prefix/api/v2/alerts', 'Bearer second'],
    ]);
    expect(JSON.parse(seen.at(-1)!.body)).toEqual([alert]);
  });

  it('basic auth from two files', async () => {
    writeFileSync(join(dir, 'u'), 'user\n');
    writeFileSync(join(dir, 'p'), 'pass');
    await alertmanagerClient(
      configOf({ basicAuth: { usernameFile: join(dir, 'u'), passwordFile: join(dir, 'p') } }),
    )([alert]);
    expect(seen.at(-1)!.authorization).toBe(`Basic ${Buffer.from('user:pass').toString('base64')}`);
  });

  it.each([
    [400, false],
    [422, false],
    [401, true],
    [429, true],
    [500, true],
    [503, true],
  ])('HTTP %i: retry %s', async (code, retry) => {
    status = code;
    expect(await alertmanagerClient(configOf({}))([alert])).toEqual({
      ok: false,
      retry,
      error: `HTTP ${code}: bad things`,
    });
  });

  it('unreachable, or credentials not readable yet: retried', async () => {
    const down = alertmanagerClient({ ...configOf({}), url: 'http://127.0.0.1:1' });
    expect(await down([alert])).toMatchObject({ ok: false, retry: true });
    const noFile = alertmanagerClient(configOf({ bearerTokenFile: '/nonexistent/token' }));
    expect(await noFile([alert])).toMatchObject({
      ok: false,
      retry: true,
      error: expect.stringMatching(/^reading credentials/) as string,
    });
  });
});
