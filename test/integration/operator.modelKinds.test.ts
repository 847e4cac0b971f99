// The operator's verification (its own parse plus the runtime's load check in a child process)
// accepts the model kinds the runtime scores beyond [N, F] MLPs: a sequence model [N, T, F] fed by
// windows that keep T readings, and an isolation forest (anomaly score output); and it refuses a
// sequence model whose fleet keeps fewer than T readings, naming the window.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildIsolationForest,
  buildTemporalCnn,
  growIsolationForest,
  randomTemporalCnn,
  type BuiltModel,
} from '../../contracts/onnx/buildModel.ts';
import type { PrognosOperator } from '../../operator/prognosOperator.ts';
import {
  applyObject,
  createNamespace,
  deleteNamespace,
  fleetManifest,
  getJson,
  installCrds,
  modelManifest,
  startOperator,
  tempDir,
  waitCondition,
} from './operatorHarness.ts';

let ns: string;
let operator: PrognosOperator;
let dir: string;

function artifact(name: string, built: BuiltModel): { uri: string; sha256: string } {
  const path = join(dir, name);
  writeFileSync(path, built.bytes);
  return { uri: `file://${path}`, sha256: createHash('sha256').update(built.bytes).digest('hex') };
}

beforeAll(async () => {
  await installCrds();
  ns = await createNamespace('op-kinds');
  dir = tempDir();
  operator = await startOperator(ns);
  await applyObject(
    fleetManifest(ns, 'pumps', {
      windows: [
        { feature: 'vibration', size: 10, aggregations: ['mean'] },
        { feature: 'vibration', name: 'last30', size: 30, aggregations: ['max'] },
        { feature: 'temperature', size: 30, aggregations: ['mean'] },
      ],
    }),
  );
});

afterAll(async () => {
  await operator?.stop();
  if (ns) await deleteNamespace(ns);
});

describe('verification of the model kinds the runtime serves', () => {
  it('accepts a sequence model [N, 30, 2] fed by windows of 30 readings, and renders its inputs', async () => {
    const cnn = randomTemporalCnn({ steps: 30, features: 2, kernel: 5, filters: 4 }, 5);
    const inputs = ['vibration@last30', 'temperature'];
    await applyObject(
      modelManifest(ns, 'rul-cnn', 'pumps', {
        version: 'v1',
        ...artifact('cnn.onnx', buildTemporalCnn(cnn, 'classification')),
        inputs,
      }),
    );
    await waitCondition(ns, 'mm/rul-cnn', 'ArtifactVerified', 'True', 'DigestAndInputsVerified', 60_000);
    await waitCondition(ns, 'mm/rul-cnn', 'FleetBound', 'True', undefined, 30_000);
    const cm = await getJson(ns, 'configmap/rul-cnn-runtime');
    expect(cm.data['runtime.yaml']).toContain('vibration@last30');
    expect(cm.data['runtime.yaml']).toContain('name: last30');
  });

  it('refuses a sequence model whose fleet keeps fewer readings than it looks back over', async () => {
    const cnn = randomTemporalCnn({ steps: 30, features: 2, kernel: 5, filters: 4 }, 6);
    await applyObject(
      modelManifest(ns, 'too-long', 'pumps', {
        version: 'v1',
        ...artifact('cnn-short.onnx', buildTemporalCnn(cnn, 'classification')),
        inputs: ['vibration', 'temperature'], // vibration's default window keeps 10
      }),
    );
    const c = await waitCondition(ns, 'mm/too-long', 'FleetBound', 'False', 'InputsNotInFleet', 60_000);
    expect(c.message).toContain(
      'the model takes the last 30 readings but window default over vibration keeps 10',
    );
    expect(await getJson(ns, 'deployment/too-long')).toBeUndefined();
  });

  it('accepts an isolation forest (an anomaly score output)', async () => {
    const rows = Array.from({ length: 200 }, (_, i) => [2 + (i % 7), 60 + (i % 5), 2 + (i % 7)]);
    const forest = growIsolationForest(rows, { trees: 20, sampleSize: 64, seed: 3 });
    const m = modelManifest(ns, 'iforest', 'pumps', {
      version: 'v1',
      ...artifact('iforest.onnx', buildIsolationForest(forest, 3)),
      inputs: ['vibration', 'temperature', 'vibration.mean'],
    });
    (m.spec as Record<string, unknown>).task = 'anomaly';
    (m.spec as Record<string, unknown>).thresholds = { warning: 0.6, critical: 0.7 };
    await applyObject(m);
    await waitCondition(ns, 'mm/iforest', 'ArtifactVerified', 'True', 'DigestAndInputsVerified', 60_000);
  });
});
