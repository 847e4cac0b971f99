import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../scoring/artifact.ts';
import { parseRuntimeConfig, type RuntimeConfig } from '../../../contracts/runtimeConfig.ts';
import {
  buildAutoencoder,
  buildLinearRegressor,
  buildMlpClassifier,
  buildTemporalCnn,
  buildTreeEnsembleRegressor,
  randomLayers,
  randomTemporalCnn,
  type BuiltModel,
  type TreeNode,
} from '../../../contracts/onnx/buildModel.ts';
import {
  denseForward,
  sigmoid,
  temporalCnnForward,
  treeForward,
} from '../../../contracts/onnx/referenceModels.ts';
import {
  createPipeline,
  DISPOSITION_ACK,
  DISPOSITION_TERM,
  type PipelineMessage,
  type Prediction,
  type ServingState,
} from './pipeline.ts';
import { bucketOf } from '../../../contracts/split.ts';

const NOW = 1_700_000_000_000;
const INPUTS = ['vibration', 'temp', 'vibration.mean'];

async function artifactOf(built: BuiltModel) {
  const dir = await mkdtemp(join(tmpdir(), 'pipeline-'));
  const path = join(dir, 'model.onnx');
  await writeFile(path, built.bytes);
  return { uri: pathToFileURL(path).href, sha256: sha256Hex(built.bytes) };
}

function configFor(
  task: RuntimeConfig['task'],
  artifact: { uri: string; sha256: string },
  over: Record<string, unknown> = {},
): RuntimeConfig {
  return parseRuntimeConfig({
    namespace: 'plant',
    fleet: 'pumps',
    model: 'pump',
    version: 'v1',
    role: 'stable',
    task,
    nats: { servers: ['nats://127.0.0.1:4222'] },
    input: { mode: 'core', subject: 'plant.pumps.*.readings', machineId: { subjectToken: 3 } },
    schema: {
      timestampFormat: 'UnixMillis',
      features: [
        { name: 'vibration', min: 0, max: 50 },
        { name: 'temp', min: -40, max: 200 },
      ],
    },
    windows: [{ feature: 'vibration', size: 4, aggregations: ['mean', 'std'] }],
    artifact: { ...artifact, inputs: INPUTS },
    thresholds:
      task === 'regression'
        ? { warning: 50, critical: 20, horizonCycles: 100 }
        : { warning: 0.5, critical: 0.8 },
    fallback: { rules: [{ feature: 'temp', above: 95, severity: 'critical' }] },
    ...over,
  });
}

const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
const reading = (machine: string, vibration: number, temp: number, ts = NOW): PipelineMessage => ({
  subject: `plant.pumps.${machine}.readings`,
  data: enc({ ts, vibration, temp }),
  receivedAt: NOW,
});

/** A stream over 3 machines plus the JS reference of each reading's model row. */
function stream(count: number) {
  const messages: PipelineMessage[] = [];
  const rows: number[][] = [];
  const history = new Map<string, number[]>();
  for (let i = 0; i < count; i++) {
    const machine = `m${i % 3}`;
    const vibration = Math.round((5 + 4 * Math.sin(i)) * 100) / 100;
    const temp = 60 + (i % 7);
    messages.push(reading(machine, vibration, temp));
    const h = history.get(machine) ?? [];
    h.push(Math.fround(vibration));
    const window = h.slice(-4);
    history.set(machine, h);
    rows.push([vibration, temp, window.reduce((a, b) => a + b, 0) / window.length]);
  }
  return { messages, rows };
}

const nowFn = () => NOW;

describe('pipeline with real ONNX models', () => {
  it.each([
    // vibration and vibration.mean are occluded together: one contribution per sensor feature
    ['feature', ['vibration', 'temp'], [[0, 2], [1]]],
    ['input', INPUTS, [[0], [1], [2]]],
  ] as const)(
    'classification: failure probability, severity, health and occlusion contributions by %s',
    async (granularity, keys, groups) => {
      const layers = randomLayers([3, 8, 1], 11);
      const means = [5, 60, 5];
      const built = buildMlpClassifier(layers, { baseline: { inputs: INPUTS, means } });
      const pipeline = await createPipeline(
        configFor('classification', await artifactOf(built), { explain: { granularity } }),
        { now: nowFn },
      );
      const { messages, rows } = stream(30);
      const result = await pipeline.process(messages);
      expect(result.predictions).toHaveLength(30);
      const f = (x: number[]) => sigmoid(denseForward(layers, Float32Array.from(x))[0]!);
      result.predictions.forEach((p, i) => {
        const expected = f(rows[i]!);
        expect(p.score).toBeCloseTo(expected, 5);
        expect(p.healthScore).toBeCloseTo(100 * (1 - expected), 0);
        expect(p.modelVersion).toBe('v1');
        expect(p.fallback).toBe(false);
        expect(Object.keys(p.contributions)).toEqual(keys);
        keys.forEach((name, g) => {
          const occluded = [...rows[i]!];
          for (const j of groups[g]!) occluded[j] = means[j]!;
          expect(p.contributions[name]).toBeCloseTo(expected - f(occluded), 5);
        });
      });
      expect(pipeline.serving()).toMatchObject({ modelServing: true, version: 'v1', explain: 'occlusion' });
      await pipeline.close();
    },
  );

  it('regression: RUL with exact linear contributions', async () => {
    const w = [-2, -0.5, -1];
    const built = buildLinearRegressor(w, 150, { baseline: { inputs: INPUTS, means: [1, 50, 1] } });
    const pipeline = await createPipeline(configFor('regression', await artifactOf(built)), { now: nowFn });
    const { messages, rows } = stream(12);
    const { predictions } = await pipeline.process(messages);
    predictions.forEach((p, i) => {
      const x = rows[i]!;
      const rul = 150 + w[0]! * x[0]! + w[1]! * x[1]! + w[2]! * x[2]!;
      expect(p.score).toBeCloseTo(rul, 3);
      expect(p.rulCycles).toBe(p.score);
      expect(p.healthScore).toBeCloseTo(Math.min(100, rul), 0);
      const sum = Object.values(p.contributions).reduce((a, b) => a + b, 0);
      const atBaseline = 150 + w[0]! * 1 + w[1]! * 50 + w[2]! * 1;
      expect(sum).toBeCloseTo(rul - atBaseline, 3);
    });
    expect(pipeline.serving().explain).toBe('linear');
    await pipeline.close();
  });

  it('anomaly: scaled reconstruction error against the thresholds', async () => {
    const layers = randomLayers([3, 2, 3], 5);
    const scales = [2, 10, 2];
    const built = buildAutoencoder(layers, { baseline: { inputs: INPUTS, means: [5, 60, 5], scales } });
    const config = configFor('anomaly', await artifactOf(built), {
      thresholds: { warning: 5, critical: 50 },
    });
    const pipeline = await createPipeline(config, { now: nowFn });
    const { messages, rows } = stream(9);
    const { predictions } = await pipeline.process(messages);
    predictions.forEach((p, i) => {
      const x = rows[i]!.map((v) => Math.fround(v));
      const y = denseForward(layers, x);
      const error = x.reduce((s, v, j) => s + ((v - y[j]!) / scales[j]!) ** 2, 0) / 3;
      expect(p.score).toBeCloseTo(error, 3);
      expect(p.severity).toBe(error >= 50 ? 'critical' : error >= 5 ? 'warning' : 'ok');
    });
    await pipeline.close();
  });

  it('tree ensemble (ai.onnx.ml) regression matches the reference', async () => {
    const trees: TreeNode[] = [
      { feature: 0, threshold: 5, left: { leaf: 80 }, right: { leaf: 30 } },
      {
        feature: 2,
        threshold: 4.5,
        left: { leaf: 10 },
        right: { feature: 1, threshold: 63, left: { leaf: -5 }, right: { leaf: 5 } },
      },
    ];
    const built = buildTreeEnsembleRegressor(trees, 3, 1);
    const pipeline = await createPipeline(configFor('regression', await artifactOf(built)), { now: nowFn });
    const { messages, rows } = stream(20);
    const { predictions } = await pipeline.process(messages);
    predictions.forEach((p, i) => expect(p.score).toBeCloseTo(treeForward(trees, rows[i]!, 1), 4));
    expect(Object.keys(predictions[0]!.contributions)).toEqual(['vibration', 'temp']);
    await pipeline.close();
  });

  it('keeps input order across predictions, dead letters and counts them by reason', async () => {
    const built = buildMlpClassifier(randomLayers([3, 1]));
    const pipeline = await createPipeline(configFor('classification', await artifactOf(built)), {
      now: nowFn,
    });
    const messages: PipelineMessage[] = [
      reading('m1', 1, 20),
      { subject: 'plant.pumps.m2.readings', data: new TextEncoder().encode('{oops'), receivedAt: NOW },
      reading('m2', 99, 20),
      reading('m3', 1, 20, NOW + 3_600_000),
      reading('bad$id', 1, 20),
      reading('m1', 2, 20),
    ];
    const result = await pipeline.process(messages);
    expect(
      result.outcomes.map((o) => (o.kind === 'dead_letter' ? o.deadLetter.rejection.reason : o.kind)),
    ).toEqual([
      'prediction',
      'malformed_json',
      'out_of_range',
      'timestamp_in_future',
      'bad_machine_id',
      'prediction',
    ]);
    expect(result.deadLetters[0]!.data).toBe(messages[1]!.data);
    const stats = pipeline.stats();
    expect(stats.counts).toMatchObject({ messages: 6, predictions: 2, deadLetters: 4, filtered: 0 });
    expect(stats.deadLettersByReason).toEqual({
      malformed_json: 1,
      out_of_range: 1,
      timestamp_in_future: 1,
      bad_machine_id: 1,
    });
    expect(stats.scores.count).toBe(2);
    expect(stats.features.vibration!.edges).toHaveLength(11); // schema range bins without baseline bins
    await pipeline.close();
  });

  it('bins feature telemetry against the model baseline bins', async () => {
    const built = buildMlpClassifier(randomLayers([3, 1]), {
      baseline: { inputs: INPUTS, means: [0, 0, 0], bins: { vibration: [0, 2, 4, 8], temp: [0, 50, 100] } },
    });
    const pipeline = await createPipeline(configFor('classification', await artifactOf(built)), {
      now: nowFn,
    });
    await pipeline.process([reading('m', 3, 60), reading('m', 9, 60)]);
    const stats = pipeline.stats();
    expect(stats.featureBins).toBe('baseline');
    expect(stats.features.vibration!.counts).toEqual([0, 0, 1, 0, 1]);
    expect(stats.features.temp!.counts).toEqual([0, 0, 2, 0]);
    await pipeline.close();
  });

  it('serves fallback rules (Degraded) when the only artifact fails verification', async () => {
    const built = buildMlpClassifier(randomLayers([3, 1]));
    const artifact = { ...(await artifactOf(built)), sha256: 'e'.repeat(64) };
    const states: unknown[] = [];
    const pipeline = await createPipeline(configFor('classification', artifact), {
      now: nowFn,
      onServingChange: (s) => states.push(s),
    });
    expect(pipeline.serving()).toMatchObject({
      modelServing: false,
      lastError: { reason: 'digest_mismatch' },
    });
    expect(states).toHaveLength(1);
    const { predictions, alerts } = await pipeline.process([reading('m1', 1, 20), reading('m2', 1, 99)]);
    expect(predictions.map((p) => [p.fallback, p.modelVersion, p.severity])).toEqual([
      [true, 'fallback', 'ok'],
      [true, 'fallback', 'critical'],
    ]);
    expect(predictions[1]!.contributions).toEqual({ temp: 1 });
    expect(alerts.map((a) => `${a.machineId}:${a.from}->${a.to}`)).toEqual(['m2:ok->critical']);
    expect(pipeline.stats().counts.fallback).toBe(2);
    await pipeline.close();
  });

  it('fetches an artifact that was unreachable at start again until it loads, then scores with it', async () => {
    const built = buildMlpClassifier(randomLayers([3, 1]));
    const dir = await mkdtemp(join(tmpdir(), 'pipeline-'));
    const path = join(dir, 'late.onnx');
    const artifact = { uri: pathToFileURL(path).href, sha256: sha256Hex(built.bytes) };
    const states: ServingState[] = [];
    const pipeline = await createPipeline(configFor('classification', artifact), {
      now: nowFn,
      onServingChange: (s) => states.push(s),
      artifactRetry: { initialMs: 20, maxMs: 40 },
    });
    expect(pipeline.serving()).toMatchObject({ modelServing: false, lastError: { reason: 'fetch_failed' } });
    const early = await pipeline.process([reading('m1', 1, 20)]);
    expect(early.predictions[0]!.fallback).toBe(true);
    await new Promise((r) => setTimeout(r, 100)); // a few failed retries
    await writeFile(path, built.bytes);
    for (let i = 0; i < 100 && !pipeline.serving().modelServing; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(pipeline.serving()).toMatchObject({ modelServing: true, version: 'v1' });
    expect(states.at(-1)).toMatchObject({ modelServing: true });
    expect(states.filter((s) => !s.modelServing).length).toBeGreaterThan(1);
    const late = await pipeline.process([reading('m1', 1, 20)]);
    expect(late.predictions[0]).toMatchObject({ fallback: false, modelVersion: 'v1' });
    await pipeline.close();
  });

  it('does not fetch again after a digest mismatch (the bytes will not change) or after close', async () => {
    const built = buildMlpClassifier(randomLayers([3, 1]));
    const wrong = { ...(await artifactOf(built)), sha256: 'e'.repeat(64) };
    const states: ServingState[] = [];
    const pipeline = await createPipeline(configFor('classification', wrong), {
      now: nowFn,
      onServingChange: (s) => states.push(s),
      artifactRetry: { initialMs: 10, maxMs: 10 },
    });
    await new Promise((r) => setTimeout(r, 60));
    expect(states).toHaveLength(1);
    await pipeline.close();
    const dir = await mkdtemp(join(tmpdir(), 'pipeline-'));
    const missing = { uri: pathToFileURL(join(dir, 'never.onnx')).href, sha256: sha256Hex(built.bytes) };
    const closed: ServingState[] = [];
    const other = await createPipeline(configFor('classification', missing), {
      now: nowFn,
      onServingChange: (s) => closed.push(s),
      artifactRetry: { initialMs: 10, maxMs: 10 },
    });
    await other.close();
    await new Promise((r) => setTimeout(r, 60));
    expect(closed).toHaveLength(1);
  });

  it('without an artifact loads nothing and scores with the fallback rules from the start', async () => {
    const config = configFor('classification', { uri: 'file:///unused', sha256: 'a'.repeat(64) });
    delete config.artifact;
    const states: unknown[] = [];
    const pipeline = await createPipeline(config, { now: nowFn, onServingChange: (s) => states.push(s) });
    expect(states).toEqual([]);
    expect(pipeline.serving()).toEqual({ modelServing: false, explain: 'none' });
    const { predictions } = await pipeline.process([reading('m1', 1, 20), reading('m2', 1, 99)]);
    expect(predictions.map((p) => [p.fallback, p.modelVersion, p.severity])).toEqual([
      [true, 'fallback', 'ok'],
      [true, 'fallback', 'critical'],
    ]);
    // A swap needs inputs when the config names none.
    await expect(
      pipeline.swapModel({ version: 'v2', uri: 'file:///m', sha256: 'a'.repeat(64) }),
    ).rejects.toMatchObject({ reason: 'input_mismatch' });
    await pipeline.close();
  });

  it('rejects a wrong-digest or mismatched swap and keeps the previous model serving', async () => {
    const v1 = buildLinearRegressor([0, 0, 0], 100);
    const pipeline = await createPipeline(configFor('regression', await artifactOf(v1)), { now: nowFn });
    const v2 = buildLinearRegressor([0, 0, 0], 200);
    const good = await artifactOf(v2);
    await expect(
      pipeline.swapModel({ version: 'v2', uri: good.uri, sha256: 'a'.repeat(64) }),
    ).rejects.toMatchObject({
      reason: 'digest_mismatch',
    });
    const narrow = await artifactOf(buildLinearRegressor([0, 0], 200));
    await expect(pipeline.swapModel({ version: 'v2', ...narrow })).rejects.toMatchObject({
      reason: 'input_mismatch',
    });
    await expect(
      pipeline.swapModel({ version: 'v2', ...good, inputs: ['temp.mean', 'temp', 'vibration'] }),
    ).rejects.toMatchObject({
      reason: 'input_mismatch',
    });
    const { predictions } = await pipeline.process([reading('m', 1, 20)]);
    expect(predictions[0]).toMatchObject({ modelVersion: 'v1', score: 100, fallback: false });
    expect(pipeline.serving()).toMatchObject({
      version: 'v1',
      lastError: { reason: 'input_mismatch', version: 'v2' },
    });
    await pipeline.swapModel({ version: 'v2', ...good });
    expect((await pipeline.process([reading('m', 1, 20)])).predictions[0]).toMatchObject({
      modelVersion: 'v2',
      score: 200,
    });
    await pipeline.close();
  });

  it('hot-swaps under concurrent process() calls without losing or double-scoring a reading', async () => {
    const v1 = buildLinearRegressor([0, 0, 0], 100);
    const v2 = await artifactOf(buildLinearRegressor([0, 0, 0], 200));
    const pipeline = await createPipeline(configFor('regression', await artifactOf(v1)), { now: nowFn });
    const batch = (b: number) =>
      Array.from({ length: 50 }, (_, i) => ({
        ...reading(`m${i}`, 1, 20),
        data: enc({ ts: NOW - b * 1000 - i, vibration: 1, temp: 20 }),
      }));
    // Keep process() calls in flight (several concurrently) from before the swap starts until after it lands.
    let swapped = false;
    const swap = pipeline.swapModel({ version: 'v2', ...v2 }).then(() => (swapped = true));
    const runs: ReturnType<typeof pipeline.process>[] = [];
    for (let b = 0, after = 0; after < 5; b++) {
      runs.push(pipeline.process(batch(b)), pipeline.process(batch(b + 0.5)));
      await new Promise((resolve) => setImmediate(resolve));
      if (swapped) after++;
    }
    await swap;
    const results = await Promise.all(runs);
    const predictions: Prediction[] = results.flatMap((r) => r.predictions);
    expect(predictions).toHaveLength(runs.length * 50);
    expect(new Set(predictions.map((p) => `${p.machineId}@${p.ts}`)).size).toBe(runs.length * 50);
    expect(new Set(predictions.map((p) => p.modelVersion))).toEqual(new Set(['v1', 'v2']));
    for (const p of predictions) expect(p.score).toBe(p.modelVersion === 'v1' ? 100 : 200);
    for (const r of results) expect(new Set(r.predictions.map((p) => p.modelVersion)).size).toBe(1);
    expect(pipeline.serving().version).toBe('v2');
    await pipeline.close();
  });

  it('sequence model [N, T, F]: each reading scores the last T readings of its machine, zeros before its first', async () => {
    const T = 5;
    const cnn = randomTemporalCnn({ steps: T, features: 2, kernel: 2, filters: 3 }, 9);
    const built = buildTemporalCnn(cnn, 'regression', {
      baseline: { inputs: ['vibration', 'temp@seq'], means: [5, 60] },
    });
    const config = configFor('regression', await artifactOf(built), {
      windows: [
        { feature: 'vibration', size: 8, aggregations: ['mean'] },
        { feature: 'temp', name: 'seq', size: T, aggregations: ['max'] },
      ],
      artifact: { ...(await artifactOf(built)), inputs: ['vibration', 'temp@seq'] },
    });
    const pipeline = await createPipeline(config, { now: nowFn });
    expect(pipeline.serving().lastError).toBeUndefined();
    expect(pipeline.serving()).toMatchObject({ modelServing: true, explain: 'occlusion' });
    const history = new Map<string, number[][]>();
    const messages: PipelineMessage[] = [];
    const expected: number[] = [];
    for (let i = 0; i < 14; i++) {
      const machine = `m${i % 2}`;
      const v = 3 + ((i * 7) % 5);
      const t = 55 + ((i * 3) % 11);
      messages.push(reading(machine, v, t));
      const h = [...(history.get(machine) ?? []), [v, t]].slice(-T);
      history.set(machine, h);
      const padded = [...Array.from({ length: T - h.length }, () => [0, 0]), ...h].flat();
      expected.push(temporalCnnForward(cnn, padded));
    }
    const { predictions } = await pipeline.process(messages);
    expect(predictions).toHaveLength(14);
    predictions.forEach((p, i) => {
      expect(p.score, `reading ${i}`).toBeCloseTo(expected[i]!, 3);
      expect(Object.keys(p.contributions)).toEqual(['vibration', 'temp']); // a feature's whole sequence occluded
    });
    // A window shorter than T cannot feed the model: refused, the previous model keeps serving.
    const short = configFor('regression', await artifactOf(built), {
      windows: [
        { feature: 'vibration', size: 3, aggregations: ['mean'] },
        { feature: 'temp', name: 'seq', size: 8, aggregations: ['max'] },
      ],
      artifact: { ...(await artifactOf(built)), inputs: ['vibration', 'temp@seq'] },
    });
    const refused = await createPipeline(short, { now: nowFn });
    expect(refused.serving()).toMatchObject({
      modelServing: false,
      lastError: {
        reason: 'input_mismatch',
        message: expect.stringContaining(
          'takes the last 5 readings but window default over vibration keeps 3',
        ),
      },
    });
    await refused.close();
    await pipeline.close();
  });

  it('flags a machine warming until its windows are full (the window over vibration keeps 4)', async () => {
    const built = buildLinearRegressor([0, 0, 1], 0);
    const pipeline = await createPipeline(configFor('regression', await artifactOf(built)), { now: nowFn });
    const batch = Array.from({ length: 6 }, () => reading('m', 2, 20));
    const { predictions } = await pipeline.process(batch);
    expect(predictions.map((p) => p.warming ?? false)).toEqual([true, true, true, false, false, false]);
    const encoded = await pipeline.processEncoded([reading('n', 2, 20)]);
    expect(JSON.parse(new TextDecoder().decode(encoded.predictionBytes))).toMatchObject({ warming: true });
    await pipeline.close();
  });

  it('says so for a redelivered reading, in both outputs', async () => {
    const built = buildLinearRegressor([0, 0, 1], 0);
    const pipeline = await createPipeline(configFor('regression', await artifactOf(built)), { now: nowFn });
    const again = { ...reading('m', 2, 20), redelivered: true };
    const { predictions } = await pipeline.process([reading('m', 2, 20), again]);
    expect(predictions.map((p) => p.redelivered ?? false)).toEqual([false, true]);
    const encoded = await pipeline.processEncoded([again]);
    expect(JSON.parse(new TextDecoder().decode(encoded.predictionBytes))).toMatchObject({
      redelivered: true,
    });
    await pipeline.close();
  });

  it('a sibling shares the loaded model and its swaps, but keeps its own windows, counts and split', async () => {
    // score = vibration.mean: what each pipeline's window holds shows in its score.
    const v1 = buildLinearRegressor([0, 0, 1], 0);
    const pipeline = await createPipeline(configFor('regression', await artifactOf(v1)), { now: nowFn });
    const grpc = pipeline.sibling();
    expect(grpc.serving()).toEqual(pipeline.serving());
    await pipeline.process([reading('m', 10, 20), reading('m', 10, 20)]);
    // The sibling's window for m starts empty: the NATS-fed readings are not in it.
    expect((await grpc.process([reading('m', 2, 20)])).predictions[0]!.score).toBeCloseTo(2);
    expect((await pipeline.process([reading('m', 10, 20)])).predictions[0]!.score).toBeCloseTo(10);
    expect(grpc.stats().counts.predictions).toBe(1);
    expect(pipeline.stats().counts.predictions).toBe(3);
    // The NATS-fed pipeline's split does not filter the sibling's calls.
    pipeline.setSplit({ stable: { version: 'v0' } });
    expect((await pipeline.process([reading('m', 10, 20)])).predictions).toHaveLength(0);
    expect((await grpc.process([reading('m', 2, 20)])).predictions).toHaveLength(1);
    // One model: a swap through either is what both score with.
    const v2 = await artifactOf(buildLinearRegressor([0, 0, 0], 7));
    await pipeline.swapModel({ version: 'v2', ...v2 });
    expect((await grpc.process([reading('m', 2, 20)])).predictions[0]).toMatchObject({
      modelVersion: 'v2',
      score: 7,
    });
    // Closing the sibling leaves the model serving; closing the owner releases it.
    await grpc.close();
    pipeline.setSplit(null);
    expect((await pipeline.process([reading('m', 1, 20)])).predictions[0]!.modelVersion).toBe('v2');
    await pipeline.close();
    expect(grpc.serving().modelServing).toBe(false);
  });

  it('filters machines by the live split and reacts to a new split at once', async () => {
    const built = buildMlpClassifier(randomLayers([3, 1]));
    const pipeline = await createPipeline(configFor('classification', await artifactOf(built)), {
      now: nowFn,
    });
    const ids = Array.from({ length: 100 }, (_, i) => `pump-${i}`);
    const batch = ids.map((id) => reading(id, 1, 20));
    pipeline.setSplit({ stable: { version: 'v1' }, canary: { version: 'v2', weight: 25 } });
    const r1 = await pipeline.process(batch);
    const handled = ids.filter((id) => bucketOf(id) >= 25);
    expect(r1.predictions.map((p) => p.machineId)).toEqual(handled);
    expect(r1.outcomes.filter((o) => o.kind === 'filtered')).toHaveLength(100 - handled.length);
    pipeline.setSplit({ stable: { version: 'v1' } });
    expect((await pipeline.process(batch)).predictions).toHaveLength(100);
    pipeline.setSplit(null);
    expect((await pipeline.process(batch)).predictions).toHaveLength(100);
    await pipeline.close();
  });

  it('counts since maintenance and evicts idle machines', async () => {
    let now = NOW;
    const built = buildLinearRegressor([0, 0, 1], 0);
    const config = configFor('regression', await artifactOf(built), {
      windows: [{ feature: 'vibration', size: 4, aggregations: ['count_since_maintenance'] }],
      artifact: {
        ...(await artifactOf(built)),
        inputs: ['vibration', 'temp', 'vibration.count_since_maintenance'],
      },
      machineTtlSeconds: 60,
    });
    const pipeline = await createPipeline(config, { now: () => now });
    const at = (m: string) => ({
      ...reading(m, 1, 20),
      receivedAt: now,
      data: enc({ ts: now, vibration: 1, temp: 20 }),
    });
    await pipeline.process([at('a'), at('a'), at('b')]);
    expect(pipeline.markMaintenance('a')).toBe(true);
    expect((await pipeline.process([at('a')])).predictions[0]!.score).toBe(1);
    now += 61_000;
    await pipeline.process([at('b')]);
    expect(pipeline.stats().machines).toBe(1);
    expect(pipeline.markMaintenance('a')).toBe(false);
    await pipeline.close();
  });
});

describe('processEncoded', () => {
  it('decides fallback readings exactly as process() does: predictions, alerts and health', async () => {
    const config = configFor('classification', { uri: 'file:///unused', sha256: 'a'.repeat(64) });
    delete config.artifact;
    const a = await createPipeline(config, { now: nowFn });
    const b = await createPipeline(config, { now: nowFn });
    const messages = [
      reading('m1', 1, 20),
      reading('m2', 1, 99),
      reading('m2', 1, 99, NOW + 1),
      reading('m2', 1, 20, NOW + 2),
      reading('m1', 1, 120, NOW + 3),
    ];
    const objects = await a.process(messages);
    const encoded = await b.processEncoded(messages, { healthIntervalMs: 5000 });
    const text = new TextDecoder().decode(encoded.predictionBytes);
    const docs = objects.predictions.map((_, k) =>
      JSON.parse(text.slice(k === 0 ? 0 : encoded.predictionEnds[k - 1], encoded.predictionEnds[k])),
    );
    expect(docs).toEqual(objects.predictions);
    expect(objects.predictions.map((p) => p.severity)).toEqual([
      'ok',
      'critical',
      'critical',
      'ok',
      'critical',
    ]);
    expect(encoded.alerts).toEqual(objects.alerts);
    expect(objects.alerts.map((x) => `${x.machineId}:${x.from}>${x.to}`)).toEqual([
      'm2:ok>critical',
      'm2:critical>ok',
      'm1:ok>critical',
    ]);
    expect(encoded.health.map((h) => [h.machineId, h.severity])).toEqual([
      ['m1', 'ok'],
      ['m2', 'critical'],
      ['m2', 'ok'],
      ['m1', 'critical'],
    ]);
    await Promise.all([a.close(), b.close()]);
  });

  it('encodes the same predictions, dispositions, alerts and health entries as process()', async () => {
    const layers = randomLayers([3, 8, 1], 11);
    const built = buildMlpClassifier(layers, { baseline: { inputs: INPUTS, means: [5, 60, 5] } });
    const config = configFor('classification', await artifactOf(built), {
      thresholds: { warning: 0.3, critical: 0.6 },
    });
    const a = await createPipeline(config, { now: nowFn });
    const b = await createPipeline(config, { now: nowFn });
    const { messages } = stream(40);
    messages.splice(5, 0, {
      subject: 'plant.pumps.m1.readings',
      data: enc({ ts: NOW, vibration: 99, temp: 1 }),
    });
    const objects = await a.process(messages);
    const encoded = await b.processEncoded(messages, { healthIntervalMs: 5000 });
    expect(encoded.messages).toBe(messages.length);
    expect(encoded.predictionCount).toBe(objects.predictions.length);
    expect(Array.from(encoded.dispositions)).toEqual(
      objects.outcomes.map((o) => (o.kind === 'dead_letter' ? DISPOSITION_TERM : DISPOSITION_ACK)),
    );
    expect(encoded.deadLetterReasons).toEqual(['out_of_range']);
    const ids = encoded.machineIds.split('\n');
    const text = new TextDecoder().decode(encoded.predictionBytes);
    let start = 0;
    objects.predictions.forEach((p, k) => {
      const doc = JSON.parse(text.slice(start, encoded.predictionEnds[k])) as Prediction;
      start = encoded.predictionEnds[k]!;
      expect(ids[k]).toBe(p.machineId);
      const { contributions, ...rest } = doc;
      const { contributions: expected, ...expectedRest } = p;
      expect(rest).toEqual(expectedRest);
      for (const [name, v] of Object.entries(expected)) expect(contributions[name]).toBeCloseTo(v, 6);
    });
    expect(encoded.alerts).toEqual(objects.alerts);
    // Health: each machine once (first sighting), none again within the interval.
    expect(encoded.health.map((h) => h.machineId).sort()).toEqual(['m0', 'm1', 'm2']);
    expect((await b.processEncoded(messages.slice(0, 3), { healthIntervalMs: 5000 })).health).toEqual([]);
    // A refresh budget of 2 per second lets two first sightings (refreshes of ok machines) through.
    const c = await createPipeline(config, { now: nowFn });
    const budgeted = await c.processEncoded(messages.slice(0, 3), {
      healthIntervalMs: 5000,
      healthRefreshesPerSecond: 2,
    });
    expect(budgeted.health.filter((h) => h.severity === 'ok').length).toBeLessThanOrEqual(2);
    await c.close();
    expect(b.stats().counts).toMatchObject({
      ...a.stats().counts,
      messages: a.stats().counts.messages + 3,
      predictions: a.stats().counts.predictions + 3,
      batches: 2,
      rowsRun: b.stats().counts.rowsRun,
    });
    await a.close();
    await b.close();
  });

  it('on partition consumers, scores every reading it took, whatever the split says by then', async () => {
    // The partitions decide who reads what. A canary's readings taken just before the split dropped
    // it (promotion done, or rolled back) are acked by it and reach no other role: dropping them as
    // filtered would lose them.
    const built = buildMlpClassifier(randomLayers([3, 8, 1], 11));
    const partitioned = {
      mode: 'jetstream',
      subject: 'plant.pumps.*.readings',
      stream: 'PUMPS',
      consumers: ['prognos-pump-stable-p0', 'prognos-pump-stable-p1'],
      machineId: { subjectToken: 3 },
    };
    const pipeline = await createPipeline(
      configFor('classification', await artifactOf(built), { role: 'canary', input: partitioned }),
      { now: nowFn },
    );
    const { messages } = stream(6);
    pipeline.setSplit({ stable: { version: 'v0' } });
    const r = await pipeline.process(messages);
    expect(r.predictions).toHaveLength(6);
    expect(r.outcomes.filter((o) => o.kind === 'filtered')).toHaveLength(0);
    await pipeline.close();
  });

  it('ignoreSplit scores machines the split gives to another version', async () => {
    const built = buildMlpClassifier(randomLayers([3, 8, 1], 11));
    const pipeline = await createPipeline(
      configFor('classification', await artifactOf(built), { role: 'canary' }),
      { now: nowFn },
    );
    const { messages } = stream(6);
    expect((await pipeline.process(messages)).predictions).toHaveLength(0);
    expect((await pipeline.process(messages, { ignoreSplit: true })).predictions).toHaveLength(6);
    await pipeline.close();
  });
});

describe('alert state restored and refreshed', () => {
  const fallbackConfig = (): RuntimeConfig => {
    const config = configFor('classification', { uri: 'file:///unused', sha256: 'a'.repeat(64) });
    delete config.artifact;
    return config;
  };

  it('a machine restored as critical is not fired again, is refreshed at once and then per interval, and resolves', async () => {
    let now = NOW;
    const pipeline = await createPipeline(fallbackConfig(), { now: () => now });
    pipeline.restoreAlerts([['m2', { severity: 'critical', since: NOW - 60_000 }]], false);
    const opts = { alertRefreshMs: 10_000 };
    const first = await pipeline.processEncoded([reading('m2', 1, 99), reading('m2', 1, 99, NOW + 1)], opts);
    expect(first.alerts).toEqual([]);
    expect(first.alertRefreshes.map((r) => [r.machineId, r.severity, r.since])).toEqual([
      ['m2', 'critical', NOW - 60_000],
    ]);
    expect(first.alertRefreshes[0]!.contributions).toEqual({ temp: expect.any(Number) as number });
    now += 5_000;
    expect((await pipeline.processEncoded([reading('m2', 1, 99, NOW + 2)], opts)).alertRefreshes).toEqual([]);
    now += 5_000;
    expect(
      (await pipeline.processEncoded([reading('m2', 1, 99, NOW + 3)], opts)).alertRefreshes,
    ).toHaveLength(1);
    const resolved = await pipeline.processEncoded([reading('m2', 1, 20, NOW + 4)], opts);
    expect(resolved.alerts.map((a) => [a.from, a.to, a.previousSince])).toEqual([
      ['critical', 'ok', NOW - 60_000],
    ]);
    expect(resolved.alertRefreshes).toEqual([]);
    await pipeline.close();
  });

  it('a state another replica just handed out waits an interval; a transition carries top contributions and RUL-free fields', async () => {
    let now = NOW;
    const pipeline = await createPipeline(fallbackConfig(), { now: () => now });
    pipeline.restoreAlerts([['m1', { severity: 'critical', since: NOW }]], true);
    const opts = { alertRefreshMs: 10_000 };
    expect((await pipeline.processEncoded([reading('m1', 1, 99)], opts)).alertRefreshes).toEqual([]);
    now += 10_000;
    expect(
      (await pipeline.processEncoded([reading('m1', 1, 99, NOW + 1)], opts)).alertRefreshes,
    ).toHaveLength(1);
    const fired = await pipeline.processEncoded([reading('m3', 1, 99, NOW + 2)], opts);
    expect(fired.alerts).toMatchObject([
      { machineId: 'm3', from: 'ok', to: 'critical', contributions: { temp: expect.any(Number) as number } },
    ]);
    expect(fired.alerts[0]).not.toHaveProperty('rulCycles');
    await pipeline.close();
  });
});
