// Liveness of a real runtime (real nats-server, real ONNX model, the real pipeline worker thread):
// /healthz fails when the worker stops making progress — its thread blocked, as a scorer stuck in
// native code would be — by either limit, while readiness (NATS and the model) stays ready; and
// it recovers, scoring what waited, once the thread runs again.
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
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
  waitUntil,
  writeClassifier,
  type ModelFile,
  type TestNats,
} from './inferenceHarness.ts';

let nats: TestNats;
let nc: NatsConnection;
let model: ModelFile;
let rt: Runtime | undefined;
let release: (() => void) | undefined;

const probe = async (path: string): Promise<{ status: number; body: string }> => {
  const r = await fetch(`http://127.0.0.1:${rt!.httpPort}${path}`);
  return { status: r.status, body: await r.text() };
};

async function start(liveness: { heartbeatTimeoutMs: number; maxBatchAgeMs: number }): Promise<Runtime> {
  rt = await startRuntime(runtimeConfig(nats.server.url, model, { liveness }), {
    logger: pino({ level: 'warn' }),
  });
  await waitUntil(
    () => rt!.readiness().ready,
    10_000,
    () => rt!.readiness().reason,
  );
  return rt;
}

beforeAll(async () => {
  nats = await startTestNats();
  nc = await connectTo(nats.server.url);
  model = writeClassifier(nats.dir);
  await (
    await jetstreamManager(nc)
  ).streams.add({ name: 'plant-a-pumps', subjects: ['plant-a.pumps.*.readings'] });
});

afterEach(async () => {
  release?.();
  release = undefined;
  await rt?.stop();
  rt = undefined;
});

afterAll(async () => {
  await nc?.close();
  await nats?.cleanup();
});

describe('/healthz and a stalled pipeline worker', () => {
  it('stays live while an idle worker heartbeats, fails once its thread is silent past the limit, and recovers', async () => {
    // Well above the 500 ms heartbeat: the worker runs at a lower priority on a shared machine.
    await start({ heartbeatTimeoutMs: 2000, maxBatchAgeMs: 60_000 });
    // Idle for longer than the limit: heartbeats alone keep it live.
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      expect((await probe('/healthz')).status).toBe(200);
      await new Promise((r) => setTimeout(r, 100));
    }

    release = rt!.pipeline.block();
    await waitUntil(
      async () => (await probe('/healthz')).status === 503,
      10_000,
      () => 'healthz still 200 with a blocked worker',
    );
    expect((await probe('/healthz')).body).toMatch(
      /^not live: pipeline worker silent for \d+ ms \(limit 2000 ms\)/,
    );
    // Readiness is about NATS and the model, both fine: the pod keeps its endpoints until restarted.
    expect(await probe('/readyz')).toEqual({ status: 200, body: 'ready: model v1 serving\n' });

    release();
    release = undefined;
    await waitUntil(
      async () => (await probe('/healthz')).status === 200,
      10_000,
      () => 'healthz not back after the worker ran again',
    );
  });

  it('fails when a batch stays unacknowledged past maxBatchAgeMs, then scores it after the worker resumes', async () => {
    // A heartbeat limit far beyond the test, so only the batch's age can fail it.
    await start({ heartbeatTimeoutMs: 600_000, maxBatchAgeMs: 1000 });
    const predictions = collect(nc, `prognos.predictions.${NAMESPACE}.${MODEL}.pump-l1`);
    release = rt!.pipeline.block();
    const js = (await jetstreamManager(nc)).jetstream();
    await js.publish(readingSubject('pump-l1'), reading(1));
    await waitUntil(
      async () => (await probe('/healthz')).status === 503,
      10_000,
      () => 'healthz still 200 with a batch held by a blocked worker',
    );
    expect((await probe('/healthz')).body).toMatch(
      /^not live: oldest unacknowledged batch is \d+ ms old \(limit 1000 ms\)/,
    );
    expect((await probe('/readyz')).status).toBe(200);
    expect(predictions.messages).toHaveLength(0);

    release();
    release = undefined;
    await predictions.waitFor(1);
    await waitUntil(
      async () => (await probe('/healthz')).status === 200,
      10_000,
      () => 'healthz not back after the batch was answered',
    );
    predictions.stop();
  });
});
