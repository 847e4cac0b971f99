// A sequence model (a temporal CNN over [N, T, F], built in TypeScript) scored end to end from NATS
// and from gRPC: each reading is scored on the last T readings of its machine, time-major, with
// zeros before a machine's first readings; NATS and gRPC keep their own windows.
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTemporalCnn, randomTemporalCnn } from '../../contracts/onnx/buildModel.ts';
import { sigmoid, temporalCnnForward } from '../../contracts/onnx/referenceModels.ts';
import { startRuntime, type Runtime } from '../../runtimes/inference/runtime.ts';
import {
  collect,
  connectTo,
  MODEL,
  NAMESPACE,
  readingSubject,
  runtimeConfig,
  predictClient,
  startTestNats,
  writeModelFile,
  type TestNats,
} from './inferenceHarness.ts';

const T = 6;
const INPUTS = ['vibration', 'temperature', 'pressure'];
const cnn = randomTemporalCnn({ steps: T, features: INPUTS.length, kernel: 3, filters: 4 }, 21);
let nats: TestNats;
let nc: NatsConnection;
let rt: Runtime;

const readingAt = (i: number) => ({
  vibration: 2 + (i % 5),
  temperature: 60 + ((i * 3) % 7),
  pressure: 3 + (i % 2),
});

/** What the model must say for each of a machine's readings: the last T readings, zero-padded. */
function expectedScores(count: number): number[] {
  const rows: number[][] = [];
  return Array.from({ length: count }, (_, i) => {
    const r = readingAt(i);
    rows.push([r.vibration, r.temperature, r.pressure]);
    const last = rows.slice(-T);
    const padded = [...Array.from({ length: T - last.length }, () => [0, 0, 0]), ...last].flat();
    return sigmoid(temporalCnnForward(cnn, padded));
  });
}

beforeAll(async () => {
  nats = await startTestNats();
  nc = await connectTo(nats.server.url);
  const { bytes } = buildTemporalCnn(cnn, 'classification');
  const model = writeModelFile(nats.dir, 'cnn.onnx', bytes);
  await (
    await jetstreamManager(nc)
  ).streams.add({ name: 'plant-a-pumps', subjects: ['plant-a.pumps.*.readings'] });
  rt = await startRuntime(
    runtimeConfig(nats.server.url, model, {
      windows: [
        { feature: 'vibration', size: 10, aggregations: ['mean'] },
        { feature: 'temperature', size: T, aggregations: ['max'] },
        { feature: 'pressure', size: T, aggregations: ['mean'] },
      ],
      artifact: { ...model, inputs: INPUTS },
    }),
    { logger: pino({ level: 'warn' }) },
  );
});

afterAll(async () => {
  await rt?.stop();
  await nc?.close();
  await nats?.cleanup();
});

describe('a sequence model [N, T, F]', () => {
  it('scores each NATS reading on the last T readings of its machine', async () => {
    const predictions = collect(nc, `prognos.predictions.${NAMESPACE}.${MODEL}.>`);
    const js = (await jetstreamManager(nc)).jetstream();
    const t0 = Date.now() - 60_000;
    for (let i = 0; i < 10; i++)
      await js.publish(readingSubject('pump-s'), JSON.stringify({ ts: t0 + i * 1000, ...readingAt(i) }));
    await predictions.waitFor(10, 20_000);
    predictions.stop();
    const expected = expectedScores(10);
    for (let i = 0; i < 10; i++) {
      const p = predictions.messages.find((m) => m.json.ts === t0 + i * 1000)!.json;
      expect(p.fallback).toBe(false);
      expect(p.score as number, `reading ${i}`).toBeCloseTo(expected[i]!, 5);
    }
  });

  it('scores gRPC Predict on the machine own gRPC readings, the same way', async () => {
    const client = predictClient(rt.grpcPort);
    const expected = expectedScores(8);
    for (let i = 0; i < 8; i++) {
      // The NATS test's machine: gRPC windows start empty all the same.
      const reply = await client.predict({ machineId: 'pump-s', features: readingAt(i) });
      expect(reply['score'] as number, `call ${i}`).toBeCloseTo(expected[i]!, 5);
    }
    client.close();
  });
});
