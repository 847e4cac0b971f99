import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ArtifactError, fetchArtifact, sha256Hex } from './artifact.ts';
import type { ModelSpec } from '../../../contracts/loadCheck.ts';
import { loadModel } from './model.ts';
import {
  buildAutoencoder,
  buildIsolationForest,
  buildLinearRegressor,
  buildMlpClassifier,
  buildTreeEnsembleRegressor,
  growIsolationForest,
  isolationPathNorm,
  randomLayers,
} from '../../../contracts/onnx/buildModel.ts';
import { isolationScore } from '../../../contracts/onnx/referenceModels.ts';

const threads = { intraOpThreads: 1, interOpThreads: 1, worker: false };
const inputs = ['a', 'b', 'c'];

async function fileUri(bytes: Uint8Array): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'artifact-'));
  const path = join(dir, 'model.onnx');
  await writeFile(path, bytes);
  return pathToFileURL(path).href;
}

function spec(bytes: Uint8Array, over: Partial<ModelSpec> = {}): ModelSpec {
  return {
    version: 'v1',
    uri: 'file:///x.onnx',
    sha256: sha256Hex(bytes),
    task: 'classification',
    inputs,
    ...over,
  };
}

async function reason(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ArtifactError) return error.reason;
    throw error;
  }
  return 'resolved';
}

describe('artifact fetching', () => {
  const bytes = new TextEncoder().encode('model bytes');

  it('reads file:// and verifies the digest', async () => {
    const uri = await fileUri(bytes);
    expect(await fetchArtifact({ uri, sha256: sha256Hex(bytes) })).toEqual(bytes);
    expect(await reason(fetchArtifact({ uri, sha256: 'f'.repeat(64) }))).toBe('digest_mismatch');
    expect(
      await reason(fetchArtifact({ uri: 'file:///nonexistent/model.onnx', sha256: sha256Hex(bytes) })),
    ).toBe('fetch_failed');
  });

  it('reads nats-os:// through the injected object-store reader, with the size limit', async () => {
    const seen: string[] = [];
    const readObject = async (uri: string, maxBytes: number) => (seen.push(`${uri} ${maxBytes}`), bytes);
    const uri = 'nats-os://prognos-models/pump/v3.onnx';
    expect(await fetchArtifact({ uri, sha256: sha256Hex(bytes) }, { readObject, maxBytes: 99 })).toEqual(
      bytes,
    );
    expect(seen).toEqual([`${uri} 99`]);
    expect(await reason(fetchArtifact({ uri: 'nats-os://b/x', sha256: sha256Hex(bytes) }))).toBe(
      'fetch_failed',
    );
  });

  it('refuses a file over the size limit', async () => {
    const uri = await fileUri(bytes);
    expect(await reason(fetchArtifact({ uri, sha256: sha256Hex(bytes) }, { maxBytes: 5 }))).toBe(
      'fetch_failed',
    );
  });
});

describe('anomaly models with a score output', () => {
  const normal = Array.from({ length: 256 }, (_, i) => [
    Math.sin(i) * 0.5,
    Math.cos(i * 0.7) * 0.5,
    (i % 7) / 14,
  ]);
  const forest = growIsolationForest(normal, { trees: 50, sampleSize: 64, seed: 7 });

  it('scores an isolation forest as it is (higher = more anomalous), equal to the JS reference', async () => {
    const built = buildIsolationForest(forest, 3);
    const model = await loadModel(built.bytes, spec(built.bytes, { task: 'anomaly' }), threads);
    expect(model.scoreFrom).toBe('output');
    const rows = [
      [0, 0, 0.2],
      [0.4, -0.4, 0.3],
      [5, 5, 3],
    ];
    const out = await model.run(Float32Array.from(rows.flat()), rows.length);
    rows.forEach((x, r) => expect(out[r]).toBeCloseTo(isolationScore(forest, x, isolationPathNorm), 5));
    expect(out[2]!).toBeGreaterThan(out[0]!);
    expect(out[2]!).toBeGreaterThan(out[1]! + 0.05);
    await model.release();
  });

  it('reads a one-input model as a score when its metadata says so, else as a reconstruction', async () => {
    const oneInput = growIsolationForest(
      normal.map((r) => [r[0]!]),
      { trees: 10, sampleSize: 32, seed: 3 },
    );
    const built = buildIsolationForest(oneInput, 1);
    const one = { task: 'anomaly' as const, inputs: ['a'] };
    expect((await loadModel(built.bytes, spec(built.bytes, one), threads)).scoreFrom).toBe('output');
    const ae = buildAutoencoder(randomLayers([1, 1]));
    expect((await loadModel(ae.bytes, spec(ae.bytes, one), threads)).scoreFrom).toBe('reconstruction');
  });
});

describe('model loading', () => {
  it('loads a classifier and runs a batch', async () => {
    const built = buildMlpClassifier(randomLayers([3, 4, 1]));
    const model = await loadModel(built.bytes, spec(built.bytes), threads);
    expect(model.outputName).toBe('probability');
    expect(model.outputWidth).toBe(1);
    const out = await model.run(new Float32Array(6), 2);
    expect(out).toHaveLength(2);
    await model.release();
  });

  it('loads regression, anomaly and tree models with their metadata', async () => {
    const linear = buildLinearRegressor([1, 2, 3], 5, { baseline: { inputs, means: [0, 0, 0] } });
    const lm = await loadModel(linear.bytes, spec(linear.bytes, { task: 'regression' }), threads);
    expect(lm.metadata.linear?.coefficients).toEqual([1, 2, 3]);
    const ae = buildAutoencoder(randomLayers([3, 2, 3]));
    expect((await loadModel(ae.bytes, spec(ae.bytes, { task: 'anomaly' }), threads)).outputWidth).toBe(3);
    const tree = buildTreeEnsembleRegressor([{ leaf: 1 }], 3);
    expect((await loadModel(tree.bytes, spec(tree.bytes, { task: 'regression' }), threads)).outputName).toBe(
      'variable',
    );
  });

  it.each([
    ['too few configured inputs', () => buildMlpClassifier(randomLayers([4, 1])), {}],
    [
      'anomaly output of the wrong width',
      () => buildAutoencoder(randomLayers([2, 1, 2])),
      { task: 'anomaly', inputs: ['a', 'b', 'c'] },
    ],
    ['unknown output name', () => buildMlpClassifier(randomLayers([3, 1])), { output: 'nope' }],
    [
      'baseline trained on other inputs',
      () =>
        buildMlpClassifier(randomLayers([3, 1]), { baseline: { inputs: ['x', 'y', 'z'], means: [0, 0, 0] } }),
      {},
    ],
    [
      'linear metadata of another width',
      () => buildLinearRegressor([1, 2], 0),
      { task: 'regression', inputs: ['a', 'b', 'c'] },
    ],
  ] as const)('rejects %s as input_mismatch', async (_name, build, over) => {
    const built = build();
    expect(await reason(loadModel(built.bytes, spec(built.bytes, over as Partial<ModelSpec>), threads))).toBe(
      'input_mismatch',
    );
  });

  it('scores in a worker thread with the same results and checks', async () => {
    const built = buildMlpClassifier(randomLayers([3, 16, 1], 9));
    const inProcess = await loadModel(built.bytes, spec(built.bytes), threads);
    const inWorker = await loadModel(built.bytes, spec(built.bytes), { ...threads, worker: true });
    const rows = Float32Array.from({ length: 30 }, (_, i) => Math.cos(i));
    const [a, b] = await Promise.all([inProcess.run(rows, 10), inWorker.run(rows, 10)]);
    expect([...b]).toEqual([...a]);
    expect(rows[0]).toBe(1); // the caller's rows are not transferred away
    await Promise.all([inProcess.release(), inWorker.release()]);
    await expect(inWorker.run(rows, 10)).rejects.toThrow();
    const narrow = buildMlpClassifier(randomLayers([4, 1]));
    expect(await reason(loadModel(narrow.bytes, spec(narrow.bytes), { ...threads, worker: true }))).toBe(
      'input_mismatch',
    );
    const garbage = new TextEncoder().encode('not a model');
    expect(await reason(loadModel(garbage, spec(garbage), { ...threads, worker: true }))).toBe(
      'invalid_onnx',
    );
  });

  it('rejects bytes that are not an ONNX model as invalid_onnx', async () => {
    const garbage = new TextEncoder().encode('definitely not protobuf \u0000\u0001');
    expect(await reason(loadModel(garbage, spec(garbage), threads))).toBe('invalid_onnx');
    const truncated = buildMlpClassifier(randomLayers([3, 1])).bytes.subarray(0, 40);
    expect(await reason(loadModel(truncated, spec(truncated), threads))).toBe('invalid_onnx');
  });
});
