// A verified, loaded ONNX model: bytes (already sha256-checked) → an onnxruntime-node session with
// explicit thread counts, checked against the configured inputs and task before it may serve.
import ort from 'onnxruntime-node';
import type { ModelSpec, Task } from '../../../contracts/loadCheck.ts';
import { ArtifactError } from './artifact.ts';
import { type ModelMetadataInfo, parseModelMetadata } from './modelMetadata.ts';
import { readModelMetadata } from '../../../contracts/onnx/onnxProto.ts';
import { createWorkerSession, type ScoringSession } from './workerSession.ts';

/**
 * `reconstruction`: an autoencoder (output as wide as the input), scored by its mean squared error;
 * `output`: the output is the score (classification, regression, an anomaly score model).
 */
export type ScoreFrom = 'reconstruction' | 'output';

export interface LoadedModel {
  readonly version: string;
  readonly sha256: string;
  readonly task: Task;
  readonly inputs: readonly string[];
  /** T of a sequence model's [N, T, F] input (F = inputs.length); undefined for [N, F]. */
  readonly sequenceLength: number | undefined;
  /** Floats per row: F, or T × F for a sequence model (time-major). */
  readonly rowWidth: number;
  readonly inputName: string;
  readonly outputName: string;
  /** Columns per output row: 1 for a score, 2 for [p(ok), p(fail)], the input width for an autoencoder. */
  readonly outputWidth: number;
  /** How the task score comes out of the output: read as it is, or as the reconstruction error. */
  readonly scoreFrom: ScoreFrom;
  readonly metadata: ModelMetadataInfo;
  /** True when runs execute on the event loop (in-process ORT) rather than in a worker thread. */
  readonly blocksEventLoop: boolean;
  /** Runs `n` rows of `rowWidth` floats; returns n × outputWidth floats. One ORT run per call. */
  run(rows: Float32Array, n: number): Promise<Float32Array>;
  release(): Promise<void>;
}

export interface OrtOptions {
  intraOpThreads: number;
  interOpThreads: number;
  /** Score in a worker thread (onnxruntime-node otherwise runs sessions on the event loop). */
  worker: boolean;
}

/** An in-process session behind the same interface as the worker one. */
async function createInProcessSession(
  bytes: Uint8Array,
  options: ort.InferenceSession.SessionOptions,
): Promise<ScoringSession> {
  const session = await ort.InferenceSession.create(bytes, options);
  return {
    inputMetadata: session.inputMetadata,
    outputMetadata: session.outputMetadata,
    async run(inputName, outputName, rows, dims) {
      const result = await session.run({ [inputName]: new ort.Tensor('float32', rows, dims) }, [outputName]);
      return result[outputName]!.data as Float32Array;
    },
    release: () => session.release(),
  };
}

export async function loadModel(
  bytes: Uint8Array,
  spec: ModelSpec,
  threads: OrtOptions,
): Promise<LoadedModel> {
  const width = spec.inputs.length;
  let metadata: ModelMetadataInfo;
  try {
    metadata = parseModelMetadata(readModelMetadata(bytes), width);
  } catch (error) {
    const message = (error as Error).message;
    // A metadata array of the wrong width means the model was trained on other inputs.
    const reason = /entries|coefficients/.test(message) ? 'input_mismatch' : 'invalid_onnx';
    throw new ArtifactError(reason, spec.uri, message, { cause: error });
  }
  if (metadata.baseline && metadata.baseline.inputs.join() !== spec.inputs.join()) {
    throw new ArtifactError(
      'input_mismatch',
      spec.uri,
      `model was trained on inputs [${metadata.baseline.inputs}] but the config declares [${spec.inputs}]`,
    );
  }
  let session: ScoringSession;
  try {
    const options: ort.InferenceSession.SessionOptions = {
      intraOpNumThreads: threads.intraOpThreads,
      interOpNumThreads: threads.interOpThreads,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    };
    session = threads.worker
      ? await createWorkerSession(bytes, options)
      : await createInProcessSession(bytes, options);
  } catch (error) {
    throw new ArtifactError('invalid_onnx', spec.uri, (error as Error).message, { cause: error });
  }
  try {
    const { inputName, outputName, outputWidth, scoreFrom, sequenceLength } = checkSignature(
      session,
      spec,
      metadata,
    );
    const rowWidth = width * (sequenceLength ?? 1);
    const dims = (n: number) => (sequenceLength === undefined ? [n, width] : [n, sequenceLength, width]);
    let released = false;
    return {
      version: spec.version,
      sha256: spec.sha256,
      task: spec.task,
      inputs: spec.inputs,
      sequenceLength,
      rowWidth,
      inputName,
      outputName,
      outputWidth,
      scoreFrom,
      metadata,
      blocksEventLoop: !threads.worker,
      async run(rows, n) {
        const data = await session.run(inputName, outputName, rows.subarray(0, n * rowWidth), dims(n));
        if (!(data instanceof Float32Array) || data.length !== n * outputWidth) {
          throw new Error(
            `model ${spec.version}: output ${outputName} has ${data.length} values, expected ${n * outputWidth}`,
          );
        }
        return data;
      },
      async release() {
        if (released) return;
        released = true;
        await session.release();
      },
    };
  } catch (error) {
    await session.release();
    throw error;
  }
}

function checkSignature(session: ScoringSession, spec: ModelSpec, metadata: ModelMetadataInfo) {
  const width = spec.inputs.length;
  const mismatch = (message: string) => new ArtifactError('input_mismatch', spec.uri, message);
  if (session.inputMetadata.length !== 1)
    throw mismatch(`expected one input tensor, model has ${session.inputMetadata.length}`);
  const input = session.inputMetadata[0]!;
  if (!input.isTensor || input.type !== 'float32')
    throw mismatch(`input ${input.name} must be a float32 tensor`);
  // [N, F], or a sequence model's [N, T, F] with a static T (the readings it looks back over).
  const sequenceLength = input.shape.length === 3 ? input.shape[1] : undefined;
  const sequence = typeof sequenceLength === 'number' && sequenceLength > 0;
  if (input.shape.at(-1) !== width || !(input.shape.length === 2 || sequence)) {
    throw mismatch(
      `input ${input.name} has shape [${input.shape}], config declares [N, ${width}] (or [N, T, ${width}] with a static T for a sequence model)`,
    );
  }
  if (typeof input.shape[0] === 'number' && input.shape[0] !== -1)
    throw mismatch(`input ${input.name} needs a dynamic batch dimension`);
  const output = spec.output
    ? session.outputMetadata.find((o) => o.name === spec.output)
    : session.outputMetadata[0];
  if (!output) throw mismatch(`model has no output ${spec.output}`);
  if (!output.isTensor || output.type !== 'float32')
    throw mismatch(`output ${output.name} must be a float32 tensor`);
  const columns = output.shape.length === 1 ? 1 : output.shape.length === 2 ? output.shape[1] : undefined;
  // anomaly: an autoencoder's reconstruction [N, inputs] or a score [N, 1] (metadata decides at one
  // input); a sequence model scores ([N, 1]), its reconstruction would be a sequence.
  const allowed =
    spec.task === 'anomaly'
      ? sequence
        ? [1]
        : [...new Set([width, 1])]
      : spec.task === 'classification'
        ? [1, 2]
        : [1];
  if (typeof columns !== 'number' || !allowed.includes(columns)) {
    throw mismatch(
      `output ${output.name} has shape [${output.shape}], ${spec.task} needs [N, ${allowed.join(' or ')}]`,
    );
  }
  const reconstruction =
    spec.task === 'anomaly' &&
    !sequence &&
    columns === width &&
    (metadata.anomalyOutput ?? 'reconstruction') === 'reconstruction';
  const scoreFrom: ScoreFrom = reconstruction ? 'reconstruction' : 'output';
  return {
    inputName: input.name,
    outputName: output.name,
    outputWidth: columns,
    scoreFrom,
    sequenceLength: sequence ? sequenceLength : undefined,
  };
}
