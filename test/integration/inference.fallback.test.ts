// The runtime with no artifact in its config, as the operator deploys it while no model version has
// ever been verified: the fallback rules score readings from the start, /readyz and grpc.health.v1
// report ready but Degraded; without rules it never becomes ready.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RuntimeConfig } from '../../contracts/runtimeConfig.ts';
import { startRuntime, type Runtime } from '../../runtimes/inference/runtime.ts';
import {
  collect,
  connectTo,
  MODEL,
  NAMESPACE,
  reading,
  readingSubject,
  runtimeConfig,
  startTestNats,
  writeClassifier,
  type TestNats,
} from './inferenceHarness.ts';

const logger = pino({ level: 'warn' });
let nats: TestNats;
let nc: NatsConnection;

/** The harness config without its artifact, under the version the operator gives fallback-only runtimes. */
function artifactless(overrides: Record<string, unknown> = {}): RuntimeConfig {
  const config = runtimeConfig(nats.server.url, writeClassifier(nats.dir), {
    version: 'fallback',
    ...overrides,
  });
  delete config.artifact;
  return config;
}

async function readyz(rt: Runtime): Promise<{ status: number; body: string }> {
  const r = await fetch(`http://127.0.0.1:${rt.httpPort}/readyz`);
  return { status: r.status, body: await r.text() };
}

async function grpcHealth(rt: Runtime): Promise<unknown> {
  const def = protoLoader.loadSync(healthProtoPath, { enums: String });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
  };
  const client = new pkg.grpc.health.v1.Health(
    `127.0.0.1:${rt.grpcPort}`,
    grpc.credentials.createInsecure(),
  ) as unknown as grpc.Client & {
    check(req: unknown, cb: (err: grpc.ServiceError | null, res: { status: string }) => void): void;
  };
  try {
    return await new Promise((resolve, reject) =>
      client.check({ service: '' }, (err, res) => (err ? reject(err) : resolve(res.status))),
    );
  } finally {
    client.close();
  }
}

beforeAll(async () => {
  nats = await startTestNats();
  nc = await connectTo(nats.server.url);
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'plant-a-pumps', subjects: ['plant-a.pumps.*.readings'] });
});

afterAll(async () => {
  await nc?.close();
  await nats?.cleanup();
});

describe('no artifact, fallback rules declared', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await startRuntime(artifactless(), { logger });
  });
  afterAll(async () => rt?.stop());

  it('is ready but Degraded on /readyz and SERVING on grpc.health.v1', async () => {
    expect(rt.readiness()).toEqual({
      ready: true,
      reason: 'fallback rules serving',
      degraded: 'no verified model; fallback rules score readings',
    });
    expect(await readyz(rt)).toEqual({
      status: 200,
      body: 'Degraded: no verified model; fallback rules score readings\n',
    });
    expect(await grpcHealth(rt)).toBe('SERVING');
  });

  it('scores a reading above a rule threshold with the rules, marked fallback', async () => {
    const predictions = collect(nc, `prognos.predictions.${NAMESPACE}.${MODEL}.>`);
    const js = (await jetstreamManager(nc)).jetstream();
    await js.publish(readingSubject('pump-hot'), reading(0, { temperature: 120 }));
    await js.publish(readingSubject('pump-cool'), reading(1));
    const got = await predictions.waitFor(2);
    const byMachine = Object.fromEntries(got.map((m) => [m.json.machineId, m.json]));
    expect(byMachine['pump-hot']).toMatchObject({
      severity: 'critical',
      fallback: true,
      modelVersion: 'fallback',
      role: 'stable',
      contributions: { temperature: 1 },
    });
    expect(byMachine['pump-cool']).toMatchObject({ severity: 'ok', fallback: true });
    predictions.stop();
  });
});

describe('no artifact and no fallback rules', () => {
  it('is not ready: /readyz 503 and grpc.health.v1 NOT_SERVING', async () => {
    const rt = await startRuntime(
      artifactless({
        fallback: { rules: [] },
        input: { mode: 'core', subject: 'plant-a.pumps.*.readings', machineId: { subjectToken: 3 } },
      }),
      { logger },
    );
    try {
      expect(await readyz(rt)).toEqual({
        status: 503,
        body: 'not ready: no verified model; no fallback rules declared\n',
      });
      expect(await grpcHealth(rt)).toBe('NOT_SERVING');
    } finally {
      await rt.stop();
    }
  });
});
