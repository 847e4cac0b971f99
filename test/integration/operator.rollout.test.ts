// Canary rollouts over the broker, on the real cluster, NATS and pod runner: a new spec.model gets
// its own Deployment, takes the fleet's partitions step by step under analysis of the runtimes'
// telemetry, and is promoted with every reading scored once; a candidate whose scores diverge from
// the stable's is rolled back, stays rolled back until spec changes, and its pods go.
import { writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrognosOperator } from '../../operator/prognosOperator.ts';
import { buildMlpClassifier, randomLayers } from '../../contracts/onnx/buildModel.ts';
import {
  applyObject,
  createNamespace,
  deleteNamespace,
  eventually,
  fleetManifest,
  getJson,
  installCrds,
  MODEL_INPUTS,
  type ModelFile,
  modelManifest,
  natsClient,
  ok,
  startOperator,
  tempDir,
  waitCondition,
  writeModel,
} from './operatorHarness.ts';
import { eventReasons, PredictionLog, ReadingPublisher, readSplit } from './rolloutHarness.ts';

let ns: string;
let operator: PrognosOperator;
let nc: NatsConnection;
let js: JetStreamClient;
let predictions: PredictionLog;
let v1: ModelFile;
let v2: ModelFile;
let bad: ModelFile;
let nan: ModelFile;
let publisher: ReadingPublisher;
const MACHINES = Array.from({ length: 40 }, (_, i) => `m${i}`);

/** A classifier whose output is pushed to ~1 for every reading: its scores diverge from any other's. */
function writeShiftedModel(dir: string): ModelFile {
  const layers = randomLayers([MODEL_INPUTS.length, 8, 1], 3);
  layers.at(-1)!.b[0] = 40;
  const { bytes } = buildMlpClassifier(layers);
  const path = join(dir, 'shifted.onnx');
  writeFileSync(path, bytes);
  return { path, uri: `file://${path}`, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** A classifier whose output is NaN for every reading (a NaN bias); the load check's row runs anyway. */
function writeNanModel(dir: string): ModelFile {
  const layers = randomLayers([MODEL_INPUTS.length, 8, 1], 4);
  layers.at(-1)!.b[0] = Number.NaN;
  const { bytes } = buildMlpClassifier(layers);
  const path = join(dir, 'nan.onnx');
  writeFileSync(path, bytes);
  return { path, uri: `file://${path}`, sha256: createHash('sha256').update(bytes).digest('hex') };
}

const rollout = {
  strategy: 'Canary',
  steps: [
    { weight: 20, pause: '10s' },
    { weight: 50, pause: '10s' },
  ],
  analysis: { interval: '6s', minSamples: 20, failureLimit: 2, maxErrorRate: 0.01, maxScoreDivergence: 0.5 },
};

function manifest(version: string, file: ModelFile) {
  return modelManifest(ns, 'pumps-rul', 'pumps', { version, ...file }, { rollout });
}

const split = (): Promise<unknown> => readSplit(nc, ns, 'pumps-rul');

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- status read back as JSON
const model = async (): Promise<any> => getJson(ns, 'mm/pumps-rul');

beforeAll(async () => {
  await installCrds();
  ns = await createNamespace('op-rollout');
  operator = await startOperator(ns);
  ({ nc } = await natsClient());
  js = jetstream(nc);
  const dir = tempDir();
  v1 = writeModel(dir, 'v1.onnx', 1);
  v2 = writeModel(dir, 'v2.onnx', 2);
  bad = writeShiftedModel(dir);
  nan = writeNanModel(dir);
  predictions = new PredictionLog(nc, ns, 'pumps-rul');
  await applyObject(fleetManifest(ns, 'pumps', { stream: { maxAge: '1h', partitions: 10 } }));
  await waitCondition(ns, 'sf/pumps', 'StreamReady', 'True', undefined, 30_000);
  await applyObject(manifest('v1', v1));
  await waitCondition(ns, 'mm/pumps-rul', 'Ready', 'True', 'Serving', 120_000);
  publisher = new ReadingPublisher(js, `${ns}.pumps`, MACHINES, 250);
  publisher.start();
});

afterAll(async () => {
  await publisher?.stop();
  predictions?.stop();
  await operator?.stop();
  await nc?.close();
  if (ns) await deleteNamespace(ns);
});

describe('canary rollouts over the broker', () => {
  it(
    'walks a good version through its steps and promotes it, each reading scored once',
    { timeout: 420_000 },
    async () => {
      await applyObject(manifest('v2', v2));
      const weights = new Set<number>();
      await eventually(
        'the canary at 20% of the partitions, then 50%',
        async () => {
          const mm = await model();
          if (mm?.status?.canary?.weight) weights.add(mm.status.canary.weight);
          return weights.has(50);
        },
        120_000,
      );
      expect(weights.has(20)).toBe(true);
      const during = await model();
      expect(during.status).toMatchObject({
        phase: 'Progressing',
        stable: { version: 'v1' },
        rollout: {
          strategy: 'Canary',
          source: 'Spec',
          target: { version: 'v2', sha256: v2.sha256 },
          step: 1,
        },
      });
      expect(during.status.rollout.results[0]).toMatchObject({ verdict: 'Passed' });
      expect(await split()).toEqual({
        stable: { version: 'v1' },
        canary: { version: 'v2', weight: 50, partitions: 5 },
      });
      expect((await getJson(ns, 'deployment/pumps-rul-canary'))?.spec.template.metadata.labels).toMatchObject(
        {
          'prognos.dev/role': 'canary',
          'prognos.dev/version': 'v2',
        },
      );

      await eventually(
        'v2 promoted to stable',
        async () => {
          const mm = await model();
          return mm?.status?.stable?.version === 'v2' && mm.status.rollout === undefined;
        },
        180_000,
      );
      const after = await model();
      expect(after.status.phase).toBe('Stable');
      expect(after.status.history[0]).toMatchObject({ event: 'Promoted', version: 'v2' });
      expect(after.status.conditions).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ type: 'Progressing', reason: 'RolloutCompleted' }),
        ]),
      );
      await eventually(
        'the split names v2 alone',
        async () => JSON.stringify(await split()) === '{"stable":{"version":"v2"}}',
      );
      await eventually(
        'the canary Deployment is gone',
        async () => (await getJson(ns, 'deployment/pumps-rul-canary')) === undefined,
      );

      // Every reading published so far is scored, and none by both versions.
      const published = publisher.published;
      const upTo = published.length;
      await predictions.expectEachScoredOnce(published, upTo);
      expect(predictions.versions(published, upTo)).toEqual(new Set(['v1', 'v2']));
      const reasons = await eventReasons(ns, 'pumps-rul');
      expect(reasons).toEqual(
        expect.arrayContaining(['RolloutStarted', 'StepCompleted', 'RolloutCompleted']),
      );
    },
  );

  it(
    'rolls back a version whose scores diverge, names the check, and does not retry it',
    { timeout: 300_000 },
    async () => {
      await applyObject(manifest('v3', bad));
      await eventually(
        'rolled back',
        async () => (await model())?.status?.rolledBack?.version === 'v3',
        180_000,
      );
      const mm = await model();
      expect(mm.status.rolledBack).toMatchObject({ reason: 'AnalysisFailed', sha256: bad.sha256 });
      expect(mm.status.rolledBack.message).toMatch(/scoreDivergence [0-9.]+ > maxScoreDivergence 0.5/);
      expect(mm.status.stable.version).toBe('v2');
      expect(mm.status.history[0]).toMatchObject({ event: 'RolledBack', version: 'v3' });
      expect(JSON.stringify(await split())).toBe('{"stable":{"version":"v2"}}');
      await eventually(
        'RolledBack once the canary pods are gone',
        async () => {
          const now = await model();
          return (
            now?.status?.phase === 'RolledBack' &&
            (await getJson(ns, 'deployment/pumps-rul-canary')) === undefined
          );
        },
        90_000,
      );
      // The canary's in-flight readings as the split returned to the stable were scored, not dropped.
      await predictions.expectEachScoredOnce(publisher.published);
      const progressing = (await model()).status.conditions.find(
        (c: { type: string }) => c.type === 'Progressing',
      );
      expect(progressing).toMatchObject({ status: 'False', reason: 'AnalysisFailed' });
      // Still rolled back a while later: the version is not retried while spec names it.
      await new Promise((r) => setTimeout(r, 5_000));
      expect((await model()).status.rollout).toBeUndefined();
    },
  );

  it('the retry annotation starts it again, and abort ends it at once', { timeout: 180_000 }, async () => {
    await ok(['annotate', '-n', ns, 'mm/pumps-rul', 'prognos.dev/retry=now']);
    await eventually(
      'a rollout again',
      async () => (await model())?.status?.rollout?.target?.version === 'v3',
      60_000,
    );
    await eventually(
      'the retry annotation is cleared',
      async () => (await model())?.metadata?.annotations?.['prognos.dev/retry'] === undefined,
    );
    await ok(['annotate', '-n', ns, 'mm/pumps-rul', 'prognos.dev/abort=now']);
    await eventually(
      'aborted',
      async () => (await model())?.status?.rolledBack?.reason === 'Aborted',
      60_000,
    );
    const mm = await model();
    expect(mm.metadata.annotations?.['prognos.dev/abort']).toBeUndefined();
    expect(mm.status.history[0]).toMatchObject({ event: 'Aborted', version: 'v3' });
    expect(JSON.stringify(await split())).toBe('{"stable":{"version":"v2"}}');
  });

  it('rolls back a version whose outputs are NaN, naming the error rate', { timeout: 240_000 }, async () => {
    await applyObject(manifest('v4', nan));
    const rolledBack = await eventually(
      'v4 rolled back',
      async () => {
        const mm = await model();
        return mm?.status?.rolledBack?.version === 'v4' ? mm.status.rolledBack : undefined;
      },
      180_000,
    );
    expect(rolledBack).toMatchObject({ reason: 'AnalysisFailed', sha256: nan.sha256 });
    expect(rolledBack.message).toMatch(/errorRate 1 > maxErrorRate 0.01/);
    expect((await model()).status.stable.version).toBe('v2');
    // Fallback-scored (never NaN) while it had traffic, and every reading still scored once.
    expect(predictions.nonNumericScores).toBe(0);
    await predictions.expectEachScoredOnce(publisher.published);
    await publisher.stop();
  });
});
