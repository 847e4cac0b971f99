import { writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadRuntimeConfig, parseRuntimeConfig, rolloutKey } from './runtimeConfig.ts';

const examplePath = new URL('../runtimes/inference/example.runtime.yaml', import.meta.url).pathname;

const jwt = { jwksFile: '/jwks.json', issuer: 'https://idp', audiences: ['prognos'] };

function minimal(): Record<string, unknown> {
  return {
    namespace: 'ns',
    fleet: 'pumps',
    model: 'pump',
    version: 'v1',
    role: 'stable',
    task: 'classification',
    nats: { servers: ['nats://127.0.0.1:4222'] },
    input: { mode: 'core', subject: 'a.*.r', machineId: { subjectToken: 2 } },
    schema: { features: [{ name: 'vibration' }, { name: 'temp', required: false }] },
    windows: [{ feature: 'vibration', size: 10, aggregations: ['mean'] }],
    artifact: { uri: 'file:///m.onnx', sha256: 'a'.repeat(64), inputs: ['vibration', 'vibration.mean'] },
    thresholds: { warning: 0.5, critical: 0.8 },
  };
}

describe('runtime config', () => {
  it('loads the shipped example', async () => {
    const config = await loadRuntimeConfig(examplePath);
    expect(config.role).toBe('stable');
    expect(config.artifact?.inputs).toContain('vibration.kurtosis');
    expect(rolloutKey(config)).toBe('plant-a.pump-failure');
  });

  it('fills defaults', () => {
    const config = parseRuntimeConfig(minimal());
    expect(config.batching).toEqual({ maxBatch: 256, maxDelayMs: 5 });
    expect(config.ort).toEqual({ intraOpThreads: 1, interOpThreads: 1, worker: true });
    expect(config.schema.features[0]!.required).toBe(true);
    expect(config.schema.features[1]!.required).toBe(false);
    expect(config.schema.timestampField).toBe('ts');
    expect(config.schema.timestampFormat).toBe('RFC3339');
    expect(config.grpc.port).toBe(50051);
    expect(config.rollout.kvBucket).toBe('prognos-rollouts');
    expect(config.liveness).toEqual({ heartbeatTimeoutMs: 30_000, maxBatchAgeMs: 60_000 });
    expect(config.grpc.auth).toBeUndefined();
    expect(config.grpc.rateLimit).toBeUndefined();
  });

  it('takes gRPC auth and a rate limit', () => {
    const config = parseRuntimeConfig({
      ...minimal(),
      grpc: { port: 1, auth: { jwt }, rateLimit: { requestsPerSecond: 0.5, burst: 3 } },
    });
    expect(config.grpc.auth?.jwt).toEqual({ ...jwt, clockToleranceSeconds: 30 });
    expect(config.grpc.rateLimit).toEqual({ requestsPerSecond: 0.5, burst: 3 });
  });

  it('needs no artifact: fallback rules alone may serve, and are still checked', () => {
    const doc: Record<string, unknown> = minimal();
    delete doc['artifact'];
    const rules = { rules: [{ feature: 'vibration.mean', above: 9, severity: 'critical' }] };
    expect(parseRuntimeConfig({ ...doc, fallback: rules }).artifact).toBeUndefined();
    const unknown = { rules: [{ feature: 'pressure', above: 9, severity: 'critical' }] };
    expect(() => parseRuntimeConfig({ ...doc, fallback: unknown })).toThrow('/fallback/rules/0/feature');
  });

  it('loads JSON too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cfg-'));
    const path = join(dir, 'runtime.json');
    await writeFile(path, JSON.stringify(minimal()));
    expect((await loadRuntimeConfig(path)).model).toBe('pump');
  });

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the table mutates arbitrary paths of a raw document
  const bad: [string, (c: Record<string, any>) => void, string][] = [
    ['unknown role', (c) => (c.role = 'primary'), '/role'],
    ['bad sha', (c) => (c.artifact.sha256 = 'xyz'), '/artifact/sha256'],
    ['bad uri scheme', (c) => (c.artifact.uri = 'ftp://x'), '/artifact/uri'],
    ['unknown input feature', (c) => c.artifact.inputs.push('pressure'), '/artifact/inputs/2'],
    ['aggregation without window', (c) => c.artifact.inputs.push('temp.mean'), '/artifact/inputs/2'],
    [
      'window on unknown feature',
      (c) => c.windows.push({ feature: 'x', size: 3, aggregations: ['min'] }),
      '/windows/1/feature',
    ],
    ['unknown aggregation', (c) => (c.windows[0].aggregations = ['median']), '/windows/0/aggregations/0'],
    ['extra field', (c) => (c.surprise = 1), '/surprise'],
    ['thresholds inverted', (c) => (c.thresholds = { warning: 0.9, critical: 0.1 }), '/thresholds'],
    [
      'regression thresholds inverted',
      (c) => ((c.task = 'regression'), (c.thresholds = { warning: 10, critical: 30 })),
      '/thresholds',
    ],
    [
      'jetstream without durable',
      (c) => (c.input = { mode: 'jetstream', subject: 'a', machineId: { field: 'id' } }),
      '/input',
    ],
    [
      'rule without bound',
      (c) => (c.fallback = { rules: [{ feature: 'vibration', severity: 'warning' }] }),
      '/fallback/rules/0',
    ],
    ['no servers', (c) => (c.nats.servers = []), '/nats/servers'],
    [
      'jwt auth with both JWKS sources',
      (c) => (c.grpc = { port: 1, auth: { jwt: { ...jwt, jwksUrl: 'https://idp/jwks' } } }),
      '/grpc/auth/jwt',
    ],
    [
      'jwt auth with no JWKS source',
      (c) => (c.grpc = { port: 1, auth: { jwt: { issuer: 'i', audiences: ['a'] } } }),
      '/grpc/auth/jwt',
    ],
    [
      'jwt auth without audiences',
      (c) => (c.grpc = { port: 1, auth: { jwt: { ...jwt, audiences: [] } } }),
      '/grpc/auth/jwt/audiences',
    ],
    [
      'rate limit of zero',
      (c) => (c.grpc = { port: 1, rateLimit: { requestsPerSecond: 0, burst: 1 } }),
      '/grpc/rateLimit/requestsPerSecond',
    ],
    [
      'rate limit without burst',
      (c) => (c.grpc = { port: 1, rateLimit: { requestsPerSecond: 5, burst: 0 } }),
      '/grpc/rateLimit/burst',
    ],
  ];
  it.each(bad)('rejects %s with the field path', (_name, mutate, path) => {
    const doc = minimal();
    mutate(doc);
    let error: unknown;
    try {
      parseRuntimeConfig(doc);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).path).toBe(path);
  });

  it('reports unparsable files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cfg-'));
    const path = join(dir, 'bad.yaml');
    await writeFile(path, 'a: [1,');
    await expect(loadRuntimeConfig(path)).rejects.toThrow(ConfigError);
  });
});
