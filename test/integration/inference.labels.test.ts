// Maintenance labels end to end: a `repair` on prognos.labels.<ns>.<fleet>.<machine> resets the
// machine's count_since_maintenance in the runtime's windows (which live in the pipeline worker
// thread). The model is linear with weight 1 on that input only, so each prediction's score is the
// count itself.
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLinearRegressor } from '../../contracts/onnx/buildModel.ts';
import { startRuntime, type Runtime } from '../../runtimes/inference/runtime.ts';
import { labelSubject } from '../../contracts/subjects.ts';
import {
  collect,
  connectTo,
  FLEET,
  MODEL,
  NAMESPACE,
  reading,
  readingSubject,
  runtimeConfig,
  startTestNats,
  writeModelFile,
  type TestNats,
} from './inferenceHarness.ts';

const INPUTS = ['vibration', 'temperature', 'pressure', 'vibration.count_since_maintenance'];
let nats: TestNats;
let nc: NatsConnection;
let rt: Runtime;

beforeAll(async () => {
  nats = await startTestNats();
  nc = await connectTo(nats.server.url);
  await (
    await jetstreamManager(nc)
  ).streams.add({ name: 'plant-a-pumps', subjects: ['plant-a.pumps.*.readings'] });
  const { bytes } = buildLinearRegressor([0, 0, 0, 1], 0);
  const model = writeModelFile(nats.dir, 'count.onnx', bytes);
  rt = await startRuntime(
    runtimeConfig(nats.server.url, model, {
      task: 'regression',
      thresholds: { warning: 50, critical: 20, horizonCycles: 100 },
      windows: [{ feature: 'vibration', size: 10, aggregations: ['count_since_maintenance'] }],
      artifact: { ...model, inputs: INPUTS },
      // The fleet's own events subject (SensorFleet spec.labels.subject): {ts, event} on a machine token.
      labels: { subject: 'plant-a.pumps.*.events' },
    }),
    { logger: pino({ level: 'warn' }) },
  );
});

afterAll(async () => {
  await rt?.stop();
  await nc?.close();
  await nats?.cleanup();
});

describe('maintenance labels', () => {
  it('a repair label resets count_since_maintenance for that machine only', async () => {
    const predictions = collect(nc, `prognos.predictions.${NAMESPACE}.${MODEL}.>`);
    const js = (await jetstreamManager(nc)).jetstream();
    const scoresOf = (machine: string) =>
      predictions.messages.filter((m) => m.json.machineId === machine).map((m) => m.json.score);
    for (let i = 0; i < 3; i++) {
      await js.publish(readingSubject('pump-r'), reading(i));
      await js.publish(readingSubject('pump-k'), reading(i));
    }
    await predictions.waitFor(6);
    expect(scoresOf('pump-r')).toEqual([1, 2, 3]);

    const label = { schema: 1, machineId: 'pump-r', event: 'repair', ts: Date.now(), source: 'test' };
    nc.publish(labelSubject(NAMESPACE, FLEET, 'pump-r'), JSON.stringify(label));
    // An `inspection` does not reset.
    nc.publish(
      labelSubject(NAMESPACE, FLEET, 'pump-k'),
      JSON.stringify({ ...label, machineId: 'pump-k', event: 'inspection' }),
    );
    await nc.flush();
    await new Promise((r) => setTimeout(r, 300));

    await js.publish(readingSubject('pump-r'), reading(3));
    await js.publish(readingSubject('pump-k'), reading(3));
    await predictions.waitFor(8);
    expect(scoresOf('pump-r')).toEqual([1, 2, 3, 1]);
    expect(scoresOf('pump-k')).toEqual([1, 2, 3, 4]);
    const last = predictions.messages.find((m) => m.json.machineId === 'pump-r' && m.json.score === 1);
    expect(last?.json).toMatchObject({ rulCycles: 1, fallback: false });
    predictions.stop();
  });

  it("an event on the fleet's own subject resets the count too, the machine found by its subject token", async () => {
    const predictions = collect(nc, `prognos.predictions.${NAMESPACE}.${MODEL}.>`);
    const js = (await jetstreamManager(nc)).jetstream();
    const scoresOf = () =>
      predictions.messages.filter((m) => m.json.machineId === 'pump-f').map((m) => m.json.score);
    for (let i = 0; i < 3; i++) await js.publish(readingSubject('pump-f'), reading(i));
    await predictions.waitFor(3);
    nc.publish('plant-a.pumps.pump-f.events', JSON.stringify({ ts: Date.now(), event: 'repair' }));
    await nc.flush();
    await new Promise((r) => setTimeout(r, 300));
    await js.publish(readingSubject('pump-f'), reading(3));
    await predictions.waitFor(4);
    expect(scoresOf()).toEqual([1, 2, 3, 1]);
    predictions.stop();
  });
});
