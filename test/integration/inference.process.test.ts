// The runtime as a process (main.ts under Node 24): at-least-once across SIGKILL in JetStream mode,
// graceful SIGTERM, and riding out a NATS restart without crashing.
import { AckPolicy, DeliverPolicy, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBinaries } from '../cluster/binaries.ts';
import { startNatsServer } from '../cluster/nats.ts';
import {
  collect,
  connectTo,
  MODEL,
  NAMESPACE,
  metricValue,
  readingSubject,
  runtimeConfig,
  spawnRuntime,
  startTestNats,
  waitUntil,
  writeClassifier,
  writeConfigFile,
  type TestNats,
} from './inferenceHarness.ts';

const STREAM = 'plant-a-pumps';
const DURABLE = 'pump-failure-v1';
let nats: TestNats;
let nc: NatsConnection;
let jsm: JetStreamManager;
let configPath: string;

beforeAll(async () => {
  nats = await startTestNats();
  nc = await connectTo(nats.server.url);
  jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: STREAM, subjects: ['plant-a.pumps.*.readings'] });
  // The operator creates the durable; a short ack wait makes redelivery after a crash quick.
  await jsm.consumers.add(STREAM, {
    durable_name: DURABLE,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: 2_000_000_000,
    max_ack_pending: 5000,
  });
  const config = runtimeConfig(nats.server.url, writeClassifier(nats.dir), {
    batching: { maxBatch: 128, maxDelayMs: 2 },
  });
  configPath = writeConfigFile(nats.dir, config);
});

afterAll(async () => {
  await nc?.close();
  await nats?.cleanup();
});

async function publishReadings(count: number, firstTs: number): Promise<void> {
  const js = jsm.jetstream();
  for (let i = 0; i < count;) {
    const acks: Promise<unknown>[] = [];
    for (let k = 0; k < 500 && i < count; k++, i++) {
      const doc = { ts: firstTs + i, vibration: 1 + (i % 40), temperature: 50 + (i % 30), pressure: 2 };
      acks.push(js.publish(readingSubject(`m-${i % 50}`), JSON.stringify(doc)));
    }
    await Promise.all(acks);
  }
}

async function consumerDrained(): Promise<boolean> {
  const info = await jsm.consumers.info(STREAM, DURABLE);
  return info.num_pending === 0 && info.num_ack_pending === 0;
}

describe('JetStream at-least-once across SIGKILL', () => {
  it('count in == count out after a kill mid-stream and a restart (duplicates allowed and counted)', async () => {
    const total = 20_000;
    const firstTs = Date.now() - 10 * total;
    const predictions = collect(nc, `prognos.predictions.${NAMESPACE}.${MODEL}.>`);
    await publishReadings(total, firstTs);

    const first = await spawnRuntime(configPath);
    await predictions.waitFor(3000, 60_000);
    await first.kill();
    const beforeRestart = predictions.messages.length;
    expect(beforeRestart).toBeLessThan(total);

    const second = await spawnRuntime(configPath);
    const seen = new Map<string, number>();
    await waitUntil(
      () => {
        seen.clear();
        for (const m of predictions.messages) {
          const key = `${m.json.machineId}:${m.json.ts}`;
          seen.set(key, (seen.get(key) ?? 0) + 1);
        }
        return seen.size >= total;
      },
      90_000,
      () => `${seen.size}/${total} distinct readings predicted`,
    );
    await waitUntil(consumerDrained, 10_000, () => 'consumer not drained');
    const duplicates = predictions.messages.length - seen.size;
    const redeliveries = metricValue(await second.metrics(), 'prognos_inference_redeliveries_total');
    console.log(
      `SIGKILL after ${beforeRestart} predictions: ${seen.size} distinct of ${total}, ${duplicates} duplicates, ${redeliveries} redeliveries counted`,
    );
    expect(seen.size).toBe(total);
    expect(redeliveries).toBeGreaterThanOrEqual(duplicates);
    expect(await second.stop()).toBe(0);
    predictions.stop();
  });
});

describe('graceful stop', () => {
  it('SIGTERM finishes in-flight batches and exits 0 within the grace period', async () => {
    const total = 5000;
    const predictions = collect(nc, `prognos.predictions.${NAMESPACE}.${MODEL}.>`);
    await publishReadings(total, Date.now() - 10 * total - 1_000_000);
    const rt = await spawnRuntime(configPath);
    await predictions.waitFor(500, 60_000);
    const started = Date.now();
    expect(await rt.stop(10_000)).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(rt.output.some((l) => l.includes('"runtime stopped"'))).toBe(true);
    // What was not finished is redelivered to the next process: nothing lost.
    const next = await spawnRuntime(configPath);
    await waitUntil(consumerDrained, 60_000, () => 'consumer not drained after restart');
    const distinct = new Set(predictions.messages.map((m) => `${m.json.machineId}:${m.json.ts}`));
    expect(distinct.size).toBe(total);
    await next.stop();
    predictions.stop();
  });
});

describe('NATS restart', () => {
  it('readiness follows the connection, the process survives, and processing resumes', async () => {
    const rt = await spawnRuntime(configPath);
    await waitUntil(
      async () => (await rt.readyz()).status === 200,
      10_000,
      () => 'never ready',
    );

    await nats.server.stop();
    await waitUntil(
      async () => (await rt.readyz()).status === 503,
      10_000,
      () => 'still ready without NATS',
    );
    expect((await rt.readyz()).body).toContain('NATS disconnected');
    await new Promise((r) => setTimeout(r, 1500));
    expect(rt.child.exitCode).toBeNull();

    const binary = (await ensureBinaries()).natsServer;
    const again = await startNatsServer({ binary, dir: nats.dir, port: nats.server.port });
    try {
      await waitUntil(
        async () => (await rt.readyz()).status === 200,
        15_000,
        () => 'not ready after NATS came back',
      );
      const predictions = collect(nc, `prognos.predictions.${NAMESPACE}.${MODEL}.>`);
      await waitUntil(
        () => !nc.isClosed() && nc.info !== undefined,
        10_000,
        () => 'test connection not back',
      );
      await publishReadings(100, Date.now() - 1_000_000_000);
      await predictions.waitFor(100, 20_000);
      predictions.stop();
      expect(await rt.stop()).toBe(0);
    } finally {
      await again.stop();
    }
  });
});
