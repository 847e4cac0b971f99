// Windows by time and several windows over one feature, end to end: readings with their own
// timestamps go through JetStream into the runtime process, which scores a linear model over
// vibration.mean@last3 (the last 3 readings), vibration.max@2s and vibration.mean@2s (the readings of
// the last 2 s of event time). With a zero baseline and per-input explanations, each prediction's
// contributions are weight × input, so every window's value is read back and compared with the
// windows computed here from the published readings.
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLinearRegressor } from '../../contracts/onnx/buildModel.ts';
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
  writeModelFile,
  type TestNats,
} from './inferenceHarness.ts';

const INPUTS = ['vibration.mean@last3', 'vibration.max@2s', 'vibration.mean@2s'];
const WEIGHTS = [1, 10, 100];
let nats: TestNats;
let nc: NatsConnection;
let rt: Runtime;

beforeAll(async () => {
  nats = await startTestNats();
  nc = await connectTo(nats.server.url);
  await (
    await jetstreamManager(nc)
  ).streams.add({ name: 'plant-a-pumps', subjects: ['plant-a.pumps.*.readings'] });
  const { bytes } = buildLinearRegressor(WEIGHTS, 0, { baseline: { inputs: INPUTS, means: [0, 0, 0] } });
  const model = writeModelFile(nats.dir, 'windows.onnx', bytes);
  rt = await startRuntime(
    runtimeConfig(nats.server.url, model, {
      task: 'regression',
      thresholds: { warning: 50, critical: 20, horizonCycles: 100 },
      windows: [
        { feature: 'vibration', name: 'last3', size: 3, aggregations: ['mean'] },
        { feature: 'vibration', name: '2s', size: 100, durationMs: 2_000, aggregations: ['max', 'mean'] },
      ],
      artifact: { ...model, inputs: INPUTS },
      explain: { enabled: true, method: 'auto', granularity: 'input' },
    }),
    { logger: pino({ level: 'warn' }) },
  );
});

afterAll(async () => {
  await rt?.stop();
  await nc?.close();
  await nats?.cleanup();
});

describe('time windows and several windows per feature', () => {
  it('each prediction reads the last 3 readings and the last 2 s of readings, by the readings own timestamps', async () => {
    const predictions = collect(nc, `prognos.predictions.${NAMESPACE}.${MODEL}.>`);
    const js = (await jetstreamManager(nc)).jetstream();
    // Irregular spacing, with a gap longer than the 2 s window and a late reading.
    const t0 = Date.now() - 60_000;
    const offsets = [0, 400, 900, 1_500, 2_100, 2_200, 5_000, 5_300, 5_100, 6_000, 7_400];
    const values = [3, 9, 4, 7, 2, 8, 5, 6, 1, 4, 9];
    for (let i = 0; i < offsets.length; i++)
      await js.publish(readingSubject('pump-w'), reading(i, { ts: t0 + offsets[i]!, vibration: values[i] }));
    await predictions.waitFor(offsets.length);

    // The windows as specified: a time window ends at the newest reading so far, and readings leave
    // it once they are 2 s older than that end; a reading older than the newest (the late 5.1 s one)
    // enters no window and is scored on the windows as they are.
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const span: { ts: number; v: number }[] = [];
    const last3: number[] = [];
    let end = -Infinity;
    const expected = offsets.map((ts, i) => {
      const late = ts < end;
      end = Math.max(end, ts);
      while (span.length > 0 && span[0]!.ts <= end - 2_000) span.shift();
      if (!late) {
        span.push({ ts, v: values[i]! });
        last3.push(values[i]!);
        if (last3.length > 3) last3.shift();
      }
      const inSpan = span.map((r) => r.v);
      return { last3: mean(last3), max2s: Math.max(...inSpan), mean2s: mean(inSpan) };
    });
    for (let i = 0; i < offsets.length; i++) {
      const p = predictions.messages.find((m) => m.json.ts === t0 + offsets[i]!)!.json as {
        contributions: Record<string, number>;
        score: number;
      };
      const c = p.contributions;
      expect(c['vibration.mean@last3']! / WEIGHTS[0]!, `reading ${i}: mean@last3`).toBeCloseTo(
        expected[i]!.last3,
        4,
      );
      expect(c['vibration.max@2s']! / WEIGHTS[1]!, `reading ${i}: max@2s`).toBeCloseTo(expected[i]!.max2s, 4);
      expect(c['vibration.mean@2s']! / WEIGHTS[2]!, `reading ${i}: mean@2s`).toBeCloseTo(
        expected[i]!.mean2s,
        4,
      );
    }
    // The gap: at 5.0 s the 2 s window holds that reading alone.
    expect(expected[6]).toMatchObject({ max2s: 5, mean2s: 5 });
    predictions.stop();
  });
});
