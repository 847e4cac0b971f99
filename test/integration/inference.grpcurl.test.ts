// The runtime's gRPC API as grpcurl users see it: a real grpcurl (built from the Go module proxy,
// like kubectl) learns every type through server reflection alone, with no .proto on its command
// line, and calls every method of prognos.inference.v1, the `features` map included.
import { execFile, spawn } from 'node:child_process';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INFERENCE_SERVICE } from '../../runtimes/inference/serve/grpcServer.ts';
import { startRuntime, type Runtime } from '../../runtimes/inference/runtime.ts';
import { ensureBinaries } from '../cluster/binaries.ts';
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
  waitUntil,
  writeClassifier,
  type TestNats,
} from './inferenceHarness.ts';

let nats: TestNats;
let nc: NatsConnection;
let rt: Runtime;
let grpcurlBin: string;

interface GrpcurlResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs grpcurl against the runtime over reflection; `data` becomes the JSON request (-d). */
function grpcurl(args: string[], data?: unknown): Promise<GrpcurlResult> {
  const dataArgs = data === undefined ? [] : ['-d', JSON.stringify(data)];
  return new Promise((resolve) => {
    execFile(
      grpcurlBin,
      ['-plaintext', '-max-time', '20', '-format-error', ...dataArgs, `127.0.0.1:${rt.grpcPort}`, ...args],
      (error, stdout, stderr) => {
        const exitCode = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ exitCode, stdout, stderr });
      },
    );
  });
}

/** Calls `method` and parses its single JSON response; fails the test with grpcurl's stderr otherwise. */
async function call(method: string, data: unknown): Promise<Record<string, unknown>> {
  const res = await grpcurl([`${INFERENCE_SERVICE}/${method}`], data);
  if (res.exitCode !== 0)
    throw new Error(`grpcurl ${method} exited ${res.exitCode}: ${res.stderr}${res.stdout}`);
  return JSON.parse(res.stdout) as Record<string, unknown>;
}

beforeAll(async () => {
  grpcurlBin = (await ensureBinaries()).grpcurl;
  nats = await startTestNats();
  nc = await connectTo(nats.server.url);
  await (
    await jetstreamManager(nc)
  ).streams.add({ name: 'plant-a-pumps', subjects: ['plant-a.pumps.*.readings'] });
  rt = await startRuntime(runtimeConfig(nats.server.url, writeClassifier(nats.dir)), {
    logger: pino({ level: 'warn' }),
  });
});

afterAll(async () => {
  await rt?.stop();
  await nc?.close();
  await nats?.cleanup();
});

describe('grpcurl through server reflection', () => {
  it('lists the services and the five methods, and describes every method and message', async () => {
    const services = await grpcurl(['list']);
    expect(services.stderr).toBe('');
    expect(services.stdout.split('\n')).toEqual(
      expect.arrayContaining([INFERENCE_SERVICE, 'grpc.health.v1.Health']),
    );
    const methods = await grpcurl(['list', INFERENCE_SERVICE]);
    expect(methods.stdout.trim().split('\n').sort()).toEqual(
      ['GetMachineHealth', 'Predict', 'PredictBatch', 'StreamPredictions', 'SubmitFeedback'].map(
        (m) => `${INFERENCE_SERVICE}.${m}`,
      ),
    );
    for (const symbol of [
      ...methods.stdout.trim().split('\n'),
      'prognos.inference.v1.PredictRequest',
      'prognos.inference.v1.PredictResponse',
      'prognos.inference.v1.PredictBatchRequest',
      'prognos.inference.v1.PredictBatchResponse',
      'prognos.inference.v1.StreamPredictionsRequest',
      'prognos.inference.v1.Prediction',
      'prognos.inference.v1.GetMachineHealthRequest',
      'prognos.inference.v1.MachineHealth',
      'prognos.inference.v1.SubmitFeedbackRequest',
      'prognos.inference.v1.SubmitFeedbackResponse',
      'prognos.inference.v1.Severity',
      'prognos.inference.v1.Role',
    ]) {
      const described = await grpcurl(['describe', symbol]);
      expect(described.exitCode, `describe ${symbol}: ${described.stderr}`).toBe(0);
      expect(described.stdout).toContain(`${symbol} is a`);
    }
    const readingType = await grpcurl(['describe', 'prognos.inference.v1.Reading']);
    expect(readingType.stderr).toBe('');
    // The field names of the .proto, and the map as a map (not a repeated entry message).
    expect(readingType.stdout).toContain('string machine_id = 1;');
    expect(readingType.stdout).toContain('int64 ts_ms = 2;');
    expect(readingType.stdout).toContain('map<string, double> features = 3;');
  });

  it('Predict scores a reading sent with the features map, in proto or JSON field names', async () => {
    // grpcurl accepts both names of a field and answers with the .proto's names.
    for (const req of [
      { reading: { machine_id: 'pump-c1', features: { vibration: 3, temperature: 70, pressure: 2 } } },
      {
        reading: {
          machineId: 'pump-c2',
          tsMs: String(Date.now()),
          features: { vibration: 4, temperature: 71, pressure: 2 },
        },
      },
    ]) {
      const { prediction } = (await call('Predict', req)) as { prediction: Record<string, unknown> };
      expect(prediction).toMatchObject({
        machine_id: req.reading.machine_id ?? req.reading.machineId,
        model: MODEL,
        model_version: 'v1',
        role: 'ROLE_STABLE',
      });
      expect(['SEVERITY_OK', 'SEVERITY_WARNING', 'SEVERITY_CRITICAL']).toContain(prediction.severity);
      expect((prediction.contributions as { feature: string }[]).map((c) => c.feature).sort()).toEqual([
        'pressure',
        'temperature',
        'vibration',
      ]);
    }
  });

  it('Predict answers a bad feature value with InvalidArgument naming the map key', async () => {
    const res = await grpcurl([`${INFERENCE_SERVICE}/Predict`], {
      reading: { machine_id: 'pump-c3', features: { vibration: 99, temperature: 70, pressure: 2 } },
    });
    // grpcurl exits 64 + the status code.
    expect(res.exitCode).toBe(64 + 3);
    const error = JSON.parse(res.stdout || res.stderr) as { code: number; message: string };
    expect(error.code).toBe(3);
    expect(error.message.startsWith('reading.features[vibration]: out_of_range')).toBe(true);
  });

  it('PredictBatch answers in request order', async () => {
    const readings = ['pump-b1', 'pump-b2', 'pump-b3'].map((machine_id, i) => ({
      machine_id,
      features: { vibration: 2 + i, temperature: 65, pressure: 3 },
    }));
    const { predictions } = (await call('PredictBatch', { readings })) as {
      predictions: { machine_id: string }[];
    };
    expect(predictions.map((p) => p.machine_id)).toEqual(['pump-b1', 'pump-b2', 'pump-b3']);
  });

  it('StreamPredictions streams the live predictions of one machine', async () => {
    const child = spawn(grpcurlBin, [
      '-plaintext',
      '-max-time',
      '30',
      '-d',
      JSON.stringify({ machine_id: 'pump-s1' }),
      `127.0.0.1:${rt.grpcPort}`,
      `${INFERENCE_SERVICE}/StreamPredictions`,
    ]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      const js = (await jetstreamManager(nc)).jetstream();
      let i = 0;
      // The subscription starts when grpcurl's call arrives; readings keep coming until two
      // predictions of the machine were streamed.
      await waitUntil(
        async () => {
          if (child.exitCode !== null) throw new Error(`grpcurl exited ${child.exitCode}: ${stderr}`);
          await js.publish(readingSubject(i % 2 ? 'pump-s1' : 'pump-s2'), reading(i++));
          return (stdout.match(/"machine_id": "pump-s1"/g) ?? []).length >= 2;
        },
        20_000,
        () => `streamed: ${stdout} ${stderr}`,
      );
      expect(stdout).not.toContain('pump-s2');
      expect(stdout).toContain('"role": "ROLE_STABLE"');
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('GetMachineHealth returns the state of a machine scored from NATS', async () => {
    const js = (await jetstreamManager(nc)).jetstream();
    await js.publish(readingSubject('pump-h1'), reading(1));
    await waitUntil(
      async () =>
        (await grpcurl([`${INFERENCE_SERVICE}/GetMachineHealth`], { machine_id: 'pump-h1' })).exitCode === 0,
      10_000,
      () => 'no health for pump-h1',
    );
    const health = await call('GetMachineHealth', { machine_id: 'pump-h1' });
    expect(health).toMatchObject({ machine_id: 'pump-h1', model_version: 'v1', role: 'ROLE_STABLE' });
    const unknown = await grpcurl([`${INFERENCE_SERVICE}/GetMachineHealth`], { machine_id: 'pump-none' });
    expect(unknown.exitCode).toBe(64 + 5);
  });

  it('SubmitFeedback publishes the label', async () => {
    const labels = collect(nc, `prognos.labels.${NAMESPACE}.${FLEET}.>`);
    const res = await call('SubmitFeedback', {
      machine_id: 'pump-7',
      event: 'repair',
      note: 'seal replaced',
    });
    expect(res.subject).toBe(`prognos.labels.${NAMESPACE}.${FLEET}.pump-7`);
    const [label] = await labels.waitFor(1);
    expect(label!.json).toMatchObject({ machineId: 'pump-7', event: 'repair', note: 'seal replaced' });
    labels.stop();
  });

  it('grpc.health.v1.Health/Check answers SERVING', async () => {
    const res = await grpcurl(['grpc.health.v1.Health/Check'], { service: INFERENCE_SERVICE });
    expect(res.exitCode, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({ status: 'SERVING' });
  });
});
