import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import {
  INPUT_NAME,
  buildAutoencoder,
  buildLinearRegressor,
  buildMlpClassifier,
  buildSlowMlpClassifier,
  buildTemporalCnn,
  buildTreeEnsembleRegressor,
  randomLayers,
  randomTemporalCnn,
  type TreeNode,
} from './buildModel.ts';
import { readModelMetadata } from './onnxProto.ts';
import { denseForward, sigmoid, temporalCnnForward, treeForward } from './referenceModels.ts';

const options: ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
};
const rows = (n: number, width: number) =>
  Float32Array.from({ length: n * width }, (_, i) => Math.sin(i * 1.7) * 3);

async function run(bytes: Uint8Array, x: Float32Array, width: number) {
  const session = await ort.InferenceSession.create(bytes, options);
  const out = await session.run({ [INPUT_NAME]: new ort.Tensor('float32', x, [x.length / width, width]) });
  await session.release();
  return { session, out };
}

describe('ONNX model builders (scored by onnxruntime-node)', () => {
  it('MLP classifier matches the JS reference', async () => {
    const layers = randomLayers([5, 8, 4, 1], 7);
    const model = buildMlpClassifier(layers);
    const x = rows(6, 5);
    const { out } = await run(model.bytes, x, 5);
    const y = out.probability!.data as Float32Array;
    for (let r = 0; r < 6; r++)
      expect(y[r]).toBeCloseTo(sigmoid(denseForward(layers, x.subarray(r * 5, r * 5 + 5))[0]!), 5);
  });

  it('slow MLP classifier scores as the plain one, and its fixed work per run costs CPU', async () => {
    const layers = randomLayers([3, 8, 1], 5);
    const x = rows(4, 3);
    const plain = (await run(buildMlpClassifier(layers).bytes, x, 3)).out.probability!.data as Float32Array;
    const cpuMsPerRun = async (depth: number) => {
      const model = buildSlowMlpClassifier(layers, { rows: 32, width: 256, depth });
      const session = await ort.InferenceSession.create(model.bytes, options);
      const input = { [INPUT_NAME]: new ort.Tensor('float32', x, [4, 3]) };
      const y = (await session.run(input)).probability!.data as Float32Array;
      for (let r = 0; r < 4; r++) expect(y[r]).toBeCloseTo(plain[r]!, 6);
      const before = process.cpuUsage();
      for (let i = 0; i < 10; i++) await session.run(input);
      const used = process.cpuUsage(before);
      await session.release();
      return (used.user + used.system) / 10_000;
    };
    const shallow = await cpuMsPerRun(1);
    const deep = await cpuMsPerRun(40);
    // 40 products of [32, 256] × [256, 256] (84M multiply-adds) against one: not folded away at load.
    expect(deep).toBeGreaterThan(shallow * 5);
  });

  it('temporal CNN over [N, T, F] matches the JS reference, and time order matters', async () => {
    const cnn = randomTemporalCnn({ steps: 30, features: 4, kernel: 5, filters: 6 }, 3);
    const model = buildTemporalCnn(cnn, 'regression');
    const x = rows(3, 30 * 4);
    const session = await ort.InferenceSession.create(model.bytes, options);
    expect(session.inputMetadata[0]).toMatchObject({ shape: ['N', 30, 4] });
    const reversed = Float32Array.from({ length: x.length }, (_, i) => {
      const [r, t, f] = [Math.floor(i / 120), Math.floor((i % 120) / 4), i % 4];
      return x[r * 120 + (29 - t) * 4 + f]!;
    });
    const y = (await session.run({ [INPUT_NAME]: new ort.Tensor('float32', x, [3, 30, 4]) })).rul!.data;
    const yr = (await session.run({ [INPUT_NAME]: new ort.Tensor('float32', reversed, [3, 30, 4]) })).rul!
      .data as Float32Array;
    await session.release();
    for (let r = 0; r < 3; r++) {
      expect(y[r]).toBeCloseTo(temporalCnnForward(cnn, x.subarray(r * 120, (r + 1) * 120)), 4);
      expect(Math.abs(yr[r]! - (y[r] as number))).toBeGreaterThan(1e-4);
    }
  });

  it('linear regressor matches and carries its coefficients as metadata', async () => {
    const model = buildLinearRegressor([2, -1, 0.5], 100, {
      baseline: { inputs: ['a', 'b', 'c'], means: [1, 2, 3] },
    });
    const x = rows(4, 3);
    const { out } = await run(model.bytes, x, 3);
    const y = out.rul!.data as Float32Array;
    for (let r = 0; r < 4; r++)
      expect(y[r]).toBeCloseTo(100 + 2 * x[r * 3]! - x[r * 3 + 1]! + 0.5 * x[r * 3 + 2]!, 4);
    const meta = readModelMetadata(model.bytes);
    expect(JSON.parse(meta.get('prognos.linear')!)).toEqual({ coefficients: [2, -1, 0.5], intercept: 100 });
    expect(JSON.parse(meta.get('prognos.baseline')!).means).toEqual([1, 2, 3]);
  });

  it('autoencoder reconstructs with the input width', async () => {
    const layers = randomLayers([4, 2, 4], 3);
    const model = buildAutoencoder(layers);
    const x = rows(3, 4);
    const { out, session } = await run(model.bytes, x, 4);
    expect(session.outputNames).toEqual(['reconstruction']);
    const y = out.reconstruction!.data as Float32Array;
    expect(out.reconstruction!.dims).toEqual([3, 4]);
    const expected = denseForward(layers, x.subarray(4, 8));
    for (let i = 0; i < 4; i++) expect(y[4 + i]).toBeCloseTo(expected[i]!, 5);
  });

  it('tree ensemble (ai.onnx.ml TreeEnsembleRegressor) matches the JS reference', async () => {
    const trees: TreeNode[] = [
      {
        feature: 0,
        threshold: 0.5,
        left: { leaf: 1 },
        right: { feature: 1, threshold: -1, left: { leaf: 2 }, right: { leaf: 3 } },
      },
      { feature: 2, threshold: 0, left: { leaf: -0.5 }, right: { leaf: 0.25 } },
    ];
    const model = buildTreeEnsembleRegressor(trees, 3, 10);
    const x = rows(20, 3);
    const { out } = await run(model.bytes, x, 3);
    const y = out.variable!.data as Float32Array;
    for (let r = 0; r < 20; r++)
      expect(y[r]).toBeCloseTo(treeForward(trees, x.subarray(r * 3, r * 3 + 3), 10), 5);
  });

  it('declares a dynamic batch dimension and a fixed feature width', async () => {
    const model = buildMlpClassifier(randomLayers([3, 1]));
    const session = await ort.InferenceSession.create(model.bytes, options);
    const input = session.inputMetadata[0]!;
    expect(input.isTensor && input.shape).toEqual(['N', 3]);
    await session.release();
  });
});
