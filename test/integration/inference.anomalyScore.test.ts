// An anomaly model with a score output (an isolation forest, built in TypeScript as an ai.onnx.ml
// tree ensemble) scored end to end from NATS and from gRPC: its score is read as it is, higher =
// more anomalous, and its thresholds map to severity as for the other tasks.
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildIsolationForest,
  growIsolationForest,
  isolationPathNorm,
} from '../../contracts/onnx/buildModel.ts';
import { isolationScore } from '../../contracts/onnx/referenceModels.ts';
import { startRuntime, type Runtime } from '../../runtimes/inference/runtime.ts';
import {
  collect,
  connectTo,
  MODEL,
  MODEL_INPUTS,
  NAMESPACE,
  readingSubject,
  runtimeConfig,
  predictClient,
  startTestNats,
  writeModelFile,
  type TestNats,
} from './inferenceHarness.ts';

// MODEL_INPUTS: vibration, temperature, pressure, vibration.mean, vibration.std.
const normalRows = Array.from({ length: 400 }, (_, i) => {
  const vibration = 2 + (i % 7) + ((i * 37) % 10) / 10;
  return [vibration, 60 + (i % 5), 3 + ((i * 13) % 10) / 20, 2 + (i % 7), 0.5 + ((i * 7) % 10) / 10];
});
const forest = growIsolationForest(normalRows, { trees: 100, sampleSize: 128, seed: 11 });
/** A machine sending one value repeatedly: its window mean is that value and its std 0. */
const steadyRow = (v: number, t: number, p: number) => [v, t, p, v, 0];
const ok = { vibration: 5, temperature: 62, pressure: 3.2 };
const bad = { vibration: 45, temperature: 180, pressure: 18 };
const okScore = isolationScore(
  forest,
  steadyRow(ok.vibration, ok.temperature, ok.pressure),
  isolationPathNorm,
);
const badScore = isolationScore(
  forest,
  steadyRow(bad.vibration, bad.temperature, bad.pressure),
  isolationPathNorm,
);
// Thresholds between the two, so each machine's severity is known.
const warning = okScore + (badScore - okScore) / 3;
const critical = okScore + (2 * (badScore - okScore)) / 3;

let nats: TestNats;
let nc: NatsConnection;
let rt: Runtime;

beforeAll(async () => {
  expect(badScore).toBeGreaterThan(okScore + 0.05);
  nats = await startTestNats();
  nc = await connectTo(nats.server.url);
  const { bytes } = buildIsolationForest(forest, MODEL_INPUTS.length);
  const model = writeModelFile(nats.dir, 'iforest.onnx', bytes);
  await (
    await jetstreamManager(nc)
  ).streams.add({ name: 'plant-a-pumps', subjects: ['plant-a.pumps.*.readings'] });
  rt = await startRuntime(
    runtimeConfig(nats.server.url, model, { task: 'anomaly', thresholds: { warning, critical } }),
    { logger: pino({ level: 'warn' }) },
  );
});

afterAll(async () => {
  await rt?.stop();
  await nc?.close();
  await nats?.cleanup();
});

describe('an isolation forest (anomaly score output)', () => {
  it('scores NATS readings with the forest score as it is', async () => {
    const predictions = collect(nc, `prognos.predictions.${NAMESPACE}.${MODEL}.>`);
    for (let i = 0; i < 10; i++) {
      nc.publish(readingSubject('pump-ok'), JSON.stringify({ ts: Date.now(), ...ok }));
      nc.publish(readingSubject('pump-bad'), JSON.stringify({ ts: Date.now(), ...bad }));
    }
    const got = await predictions.waitFor(20, 20_000);
    predictions.stop();
    for (const { json } of got) {
      const isBad = json.machineId === 'pump-bad';
      expect(json.fallback).toBe(false);
      expect(json.score as number).toBeCloseTo(isBad ? badScore : okScore, 5);
      expect(json.severity).toBe(isBad ? 'critical' : 'ok');
    }
  });

  it('scores gRPC Predict the same way', async () => {
    const client = predictClient(rt.grpcPort);
    const okReply = await client.predict({ machineId: 'grpc-ok', features: ok });
    const badReply = await client.predict({ machineId: 'grpc-bad', features: bad });
    expect(okReply['score'] as number).toBeCloseTo(okScore, 5);
    expect(okReply['severity']).toBe('SEVERITY_OK');
    expect(badReply['score'] as number).toBeCloseTo(badScore, 5);
    expect(badReply['severity']).toBe('SEVERITY_CRITICAL');
    client.close();
  });
});
