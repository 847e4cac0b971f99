import { InferenceSession } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import {
  buildAutoencoder,
  buildLinearRegressor,
  buildMlpClassifier,
  buildTemporalCnn,
  buildTreeEnsembleRegressor,
  randomTemporalCnn,
  buildUnknownOpModel,
  randomLayers,
} from '../../../contracts/onnx/buildModel.ts';
import { encodeModel } from '../../../contracts/onnx/onnxProto.ts';
import { ArtifactVerifier, onnxSignature, sha256Hex, type ArtifactSpec } from './artifactVerifier.ts';
import type { OnnxSignature } from './inputsCheck.ts';

/** The signature as ONNX Runtime reports it (what the operator used to load): the reference. */
async function ortSignature(bytes: Uint8Array): Promise<OnnxSignature> {
  const session = await InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    return {
      inputs: session.inputMetadata.map((meta) => {
        const dims = meta.isTensor ? meta.shape : [];
        const last = dims.at(-1);
        const steps = dims.length === 3 ? dims[1] : undefined;
        return {
          name: meta.name,
          rank: dims.length,
          ...(typeof last === 'number' && last > 0 && dims.length >= 2 ? { width: last } : {}),
          ...(typeof steps === 'number' && steps > 0 ? { sequenceLength: steps } : {}),
        };
      }),
      outputs: [...session.outputNames],
    };
  } finally {
    await session.release();
  }
}

const vi = (name: string, dims: (number | string)[]) => ({
  name,
  type: {
    tensor_type: {
      elem_type: 1,
      shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
    },
  },
});

/** Two named [N, 1] inputs, plus an initializer that is also listed as a graph input (IR < 4 style). */
const multiInput = encodeModel({
  ir_version: 8,
  opset_import: [{ domain: '', version: 17 }],
  graph: {
    name: 'two-inputs',
    node: [
      { op_type: 'Add', input: ['vibration', 'temperature'], output: ['s'], name: 'a' },
      { op_type: 'Mul', input: ['s', 'k'], output: ['score'], name: 'm' },
    ],
    initializer: [
      { name: 'k', dims: [1], data_type: 1, raw_data: new Uint8Array(new Float32Array([2]).buffer) },
    ],
    input: [vi('vibration', ['N', 1]), vi('temperature', ['N', 1]), vi('k', [1])],
    output: [vi('score', ['N', 1])],
  },
});

describe('onnxSignature (protobuf header, no ONNX Runtime)', () => {
  it.each([
    ['MLP classifier', buildMlpClassifier(randomLayers([3, 8, 1], 4)).bytes],
    ['linear regressor', buildLinearRegressor([0.1, 0.2, 0.3, 0.4], 1).bytes],
    ['autoencoder', buildAutoencoder(randomLayers([5, 2, 5], 2)).bytes],
    ['tree ensemble (ai.onnx.ml)', buildTreeEnsembleRegressor([{ leaf: 1 }], 2).bytes],
    ['two named inputs and an initializer input', multiInput],
    [
      'temporal CNN [N, 30, 4]',
      buildTemporalCnn(randomTemporalCnn({ steps: 30, features: 4, kernel: 3, filters: 2 }), 'regression')
        .bytes,
    ],
  ])('%s: as ONNX Runtime reports it', async (_name, bytes) => {
    expect(onnxSignature(bytes)).toEqual(await ortSignature(bytes));
  });

  it.each([
    ['not protobuf', new TextEncoder().encode('definitely not an onnx model, just text')],
    ['empty', new Uint8Array(0)],
    [
      'a graph output nobody produces',
      encodeModel({
        ir_version: 8,
        opset_import: [{ domain: '', version: 17 }],
        graph: {
          node: [{ op_type: 'Relu', input: ['x'], output: ['y'], name: 'r' }],
          input: [vi('x', ['N', 2])],
          output: [vi('z', ['N', 2])],
        },
      }),
    ],
  ])('refuses %s', (_name, bytes) => {
    expect(() => onnxSignature(bytes)).toThrow();
  });
});

describe('onnxSignature: the training baseline in metadata_props', () => {
  const baseline = {
    inputs: ['vibration', 'temperature', 'vibration.mean'],
    means: [1, 2, 3],
    bins: { vibration: [0, 1, 2], temperature: [10, 20] },
    histograms: { vibration: [1, 5, 3, 1], temperature: [2, 6, 2] },
  };
  const layers = randomLayers([3, 8, 1], 4);

  it('reads a valid baseline, bins and reference histograms included', () => {
    const signature = onnxSignature(buildMlpClassifier(layers, { baseline }).bytes);
    expect(signature.baseline).toEqual(baseline);
    expect(signature.baselineError).toBeUndefined();
  });

  it('has neither when the artifact carries no baseline', () => {
    const signature = onnxSignature(buildMlpClassifier(layers).bytes);
    expect(signature).not.toHaveProperty('baseline');
    expect(signature).not.toHaveProperty('baselineError');
  });

  it.each<[string, string, RegExp]>([
    ['not JSON', '{"inputs": [', /prognos\.baseline: not JSON/],
    ['the wrong shape', JSON.stringify({ inputs: 'vibration' }), /does not match the schema/],
    [
      'arrays narrower than the graph input',
      JSON.stringify({ ...baseline, means: [1, 2] }),
      /arrays must have 3 entries/,
    ],
    [
      'a histogram that does not fit its bins',
      JSON.stringify({ ...baseline, histograms: { vibration: [1, 2] } }),
      /histogram of vibration/,
    ],
  ])('an invalid baseline (%s) is left out with the reason, the model still verifies', (_n, text, reason) => {
    const signature = onnxSignature(
      buildMlpClassifier(layers, { extra: { 'prognos.baseline': text } }).bytes,
    );
    expect(signature.baseline).toBeUndefined();
    expect(signature.baselineError).toMatch(reason);
    expect(signature.inputs[0]).toMatchObject({ name: 'features', width: 3 });
  });

  it('a later entry of the key wins, as the runtime reads it (appended metadata)', () => {
    const later = { ...baseline, means: [7, 8, 9] };
    const bytes = buildMlpClassifier(layers, {
      baseline,
      extra: { 'prognos.baseline': JSON.stringify(later) },
    }).bytes;
    expect(onnxSignature(bytes).baseline?.means).toEqual([7, 8, 9]);
  });

  it('the verdict of a verified artifact carries the baseline', async () => {
    const bytes = buildMlpClassifier(layers, { baseline }).bytes;
    const verifier = new ArtifactVerifier({
      fetch: () => Promise.resolve({ ok: true, bytes }),
      loadCheck: () => Promise.resolve({ ok: true }),
    });
    const verdict = await verifier.verify(
      {
        version: 'v1',
        uri: 'file:///m.onnx',
        sha256: sha256Hex(bytes),
        task: 'classification',
        inputs: baseline.inputs,
      },
      () => Promise.reject(new Error('no nats')),
    );
    expect(verdict.ok && verdict.signature.baseline).toEqual(baseline);
  });
});

describe('ArtifactVerifier', () => {
  const nats = () => Promise.reject(new Error('no nats'));
  const spec = (uri: string, sha256: string, extra: Partial<ArtifactSpec> = {}): ArtifactSpec => ({
    version: 'v1',
    uri,
    sha256,
    task: 'classification',
    inputs: ['vibration', 'temperature', 'vibration.mean'],
    ...extra,
  });

  it('ArtifactVerifier: digest mismatch, invalid bytes, inputs, then a cached success', async () => {
    const good = buildMlpClassifier(randomLayers([3, 8, 1], 4)).bytes;
    const bad = new TextEncoder().encode('garbage');
    let fetches = 0;
    const loads: string[] = [];
    const verifier = new ArtifactVerifier({
      fetch: (uri) => {
        fetches++;
        return Promise.resolve({ ok: true, bytes: uri.endsWith('bad') ? bad : good });
      },
      loadCheck: (_bytes, s) => {
        loads.push(s.uri);
        return Promise.resolve({ ok: true });
      },
    });
    expect(await verifier.verify(spec('file:///good', 'f00'), nats)).toMatchObject({
      ok: false,
      refusal: { reason: 'ArtifactDigestMismatch' },
    });
    expect(await verifier.verify(spec('file:///bad', sha256Hex(bad)), nats)).toMatchObject({
      ok: false,
      refusal: { reason: 'ArtifactInvalid' },
    });
    expect(
      await verifier.verify(spec('file:///good', sha256Hex(good), { inputs: ['vibration'] }), nats),
    ).toMatchObject({ ok: false, refusal: { reason: 'InvalidOnnxInputs' } });
    expect(loads).toEqual([]);
    // Many models sharing one artifact verify it once, even when they ask at the same moment.
    const verdicts = await Promise.all(
      Array.from({ length: 5 }, () => verifier.verify(spec('file:///good', sha256Hex(good)), nats)),
    );
    expect(verdicts[0]).toEqual({
      ok: true,
      signature: { inputs: [{ name: 'features', rank: 2, width: 3 }], outputs: ['probability'] },
    });
    expect(new Set(verdicts).size).toBe(1);
    await verifier.verify(spec('file:///good', sha256Hex(good)), nats);
    expect(fetches).toBe(4);
    expect(loads).toEqual(['file:///good']);
    expect(verifier.isVerified('file:///good', sha256Hex(good))).toBe(true);
  });

  it('ArtifactVerifier refuses an operator ONNX Runtime has no kernel for (in a child process)', async () => {
    const bytes = buildUnknownOpModel(3).bytes;
    const verifier = new ArtifactVerifier({ fetch: () => Promise.resolve({ ok: true, bytes }) });
    const verdict = await verifier.verify(spec('file:///unknown-op', sha256Hex(bytes)), nats);
    expect(verdict).toMatchObject({
      ok: false,
      refusal: {
        reason: 'ArtifactInvalid',
        message: /cannot serve file:\/\/\/unknown-op: .*PrognosNoSuchOp/,
      },
    });
    expect(verifier.isVerified('file:///unknown-op', sha256Hex(bytes))).toBe(false);
  });

  it('ArtifactVerifier asks the runtime: a classifier whose output is wider than two is refused', async () => {
    const bytes = buildMlpClassifier(randomLayers([3, 4, 1], 2)).bytes;
    const autoencoder = buildAutoencoder(randomLayers([3, 2, 3], 3)).bytes;
    const verifier = new ArtifactVerifier({
      fetch: (uri) => Promise.resolve({ ok: true, bytes: uri.endsWith('ae') ? autoencoder : bytes }),
    });
    expect(await verifier.verify(spec('file:///mlp', sha256Hex(bytes)), nats)).toMatchObject({ ok: true });
    expect(await verifier.verify(spec('file:///ae', sha256Hex(autoencoder)), nats)).toMatchObject({
      ok: false,
      refusal: { reason: 'InvalidOnnxInputs', message: /classification needs \[N, 1 or 2\]/ },
    });
  });

  it('a check that could not run rejects that verification only; the next one checks again', async () => {
    const bytes = buildMlpClassifier(randomLayers([3, 4, 1], 2)).bytes;
    let calls = 0;
    const verifier = new ArtifactVerifier({
      fetch: () => Promise.resolve({ ok: true, bytes }),
      loadCheck: () =>
        ++calls === 1 ? Promise.reject(new Error('spawn ENOENT')) : Promise.resolve({ ok: true }),
    });
    await expect(verifier.verify(spec('file:///m', sha256Hex(bytes)), nats)).rejects.toThrow('ENOENT');
    await new Promise((r) => setImmediate(r));
    expect(await verifier.verify(spec('file:///m', sha256Hex(bytes)), nats)).toMatchObject({ ok: true });
  });

  it('a load check that dies is retried on the next verification', async () => {
    const bytes = buildMlpClassifier(randomLayers([3, 4, 1], 2)).bytes;
    let calls = 0;
    const verifier = new ArtifactVerifier({
      fetch: () => Promise.resolve({ ok: true, bytes }),
      loadCheck: () =>
        Promise.resolve(
          ++calls === 1 ? { ok: false, crashed: true, message: 'killed by SIGKILL' } : { ok: true },
        ),
    });
    expect(await verifier.verify(spec('file:///m', sha256Hex(bytes)), nats)).toMatchObject({
      ok: false,
      refusal: { reason: 'ArtifactCheckFailed' },
    });
    await new Promise((r) => setImmediate(r));
    expect(await verifier.verify(spec('file:///m', sha256Hex(bytes)), nats)).toMatchObject({ ok: true });
    expect(calls).toBe(2);
  });

  it('runs at most maxLoadChecks load checks at once; a waiting one reports VerificationQueued', async () => {
    const models = [1, 2, 3].map((seed) => buildMlpClassifier(randomLayers([3, 4, 1], seed)).bytes);
    const running: Array<() => void> = [];
    let concurrent = 0;
    let peak = 0;
    const verifier = new ArtifactVerifier({
      fetch: (uri) => Promise.resolve({ ok: true, bytes: models[Number(uri.slice(-1))]! }),
      loadCheck: () =>
        new Promise((resolve) => {
          peak = Math.max(peak, ++concurrent);
          running.push(() => {
            concurrent -= 1;
            resolve({ ok: true });
          });
        }),
      maxLoadChecks: 2,
    });
    const specs = models.map((b, i) => spec(`file:///m${i}`, sha256Hex(b)));
    const first = verifier.verifyOrQueued(specs[0]!, nats);
    const second = verifier.verifyOrQueued(specs[1]!, nats);
    const third = await verifier.verifyOrQueued(specs[2]!, nats);
    expect(third).toMatchObject({
      ok: false,
      refusal: { reason: 'VerificationQueued', pending: true, message: expect.stringContaining('1 in line') },
    });
    expect(peak).toBe(2);
    running.shift()!();
    expect(await first).toMatchObject({ ok: true });
    await new Promise((r) => setTimeout(r, 0));
    expect(running).toHaveLength(2); // the queued check took the freed slot
    running.splice(0).forEach((release) => release());
    expect(await second).toMatchObject({ ok: true });
    expect(await verifier.verifyOrQueued(specs[2]!, nats)).toMatchObject({ ok: true });
    expect(peak).toBe(2);
  });
});
