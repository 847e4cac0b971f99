// Builds real .onnx bytes in TypeScript for tests, benchmarks and the demo: an MLP failure
// classifier, a linear RUL regressor, an autoencoder, an ai.onnx.ml tree ensemble, an isolation
// forest (anomaly score) and a temporal CNN (a sequence model). Every model takes one float input
// `features`, [N, F] or for the sequence model [N, T, F] (the runtime's contract), and returns one
// float output.
import { BASELINE_KEY, type Baseline } from '../modelBaseline.ts';
import { encodeModel } from './onnxProto.ts';

const FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_FLOATS = 6;
const ATTR_INTS = 7;
const ATTR_STRINGS = 8;
const IR_VERSION = 8;
const OPSET = 17;
const ML_OPSET = 3;

export const INPUT_NAME = 'features';

type Dim = number | string;
type Attribute = { name: string; type: number; [value: string]: unknown };

export interface BuiltModel {
  bytes: Uint8Array;
  outputName: string;
}

export interface ModelMetadata {
  /** `prognos.baseline`: per-input means (occlusion baseline), optional drift bins, reference histograms and anomaly scales. */
  baseline?: Baseline;
  /** `prognos.linear`: marks the model linear in its inputs, enabling exact contributions. */
  linear?: { coefficients: number[]; intercept: number };
  /** Any further metadata_props entries. */
  extra?: Record<string, string>;
}

function tensor(name: string, dims: number[], values: ArrayLike<number>) {
  const data = Float32Array.from(values);
  if (data.length !== dims.reduce((a, b) => a * b, 1))
    throw new Error(`tensor ${name}: ${data.length} values for dims ${dims}`);
  return { name, dims, data_type: FLOAT, raw_data: new Uint8Array(data.buffer) };
}

function valueInfo(name: string, dims: Dim[]) {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}

function node(op_type: string, input: string[], output: string[], attribute: Attribute[] = [], domain = '') {
  return { op_type, input, output, name: `${op_type}_${output[0]}`, attribute, domain };
}

function metadataProps(metadata: ModelMetadata) {
  const props: { key: string; value: string }[] = [];
  if (metadata.baseline) props.push({ key: BASELINE_KEY, value: JSON.stringify(metadata.baseline) });
  if (metadata.linear) props.push({ key: 'prognos.linear', value: JSON.stringify(metadata.linear) });
  for (const [key, value] of Object.entries(metadata.extra ?? {})) props.push({ key, value });
  return props;
}

function assemble(
  name: string,
  nodes: ReturnType<typeof node>[],
  initializer: ReturnType<typeof tensor>[],
  width: number | Dim[],
  output: { name: string; dims: Dim[] },
  metadata: ModelMetadata,
  withMl = false,
): BuiltModel {
  const opset_import = [{ domain: '', version: OPSET }];
  if (withMl) opset_import.push({ domain: 'ai.onnx.ml', version: ML_OPSET });
  const bytes = encodeModel({
    ir_version: IR_VERSION,
    opset_import,
    producer_name: 'prognos-test-models',
    graph: {
      name,
      node: nodes,
      initializer,
      input: [valueInfo(INPUT_NAME, typeof width === 'number' ? ['N', width] : width)],
      output: [valueInfo(output.name, output.dims)],
    },
    metadata_props: metadataProps(metadata),
  });
  return { bytes, outputName: output.name };
}

/** Dense layer weights: `w` is row-major [in, out]. */
export interface DenseLayer {
  w: Float32Array;
  b: Float32Array;
  inputs: number;
  outputs: number;
}

/** Deterministic Glorot-ish dense layers so tests and benchmarks are reproducible. */
export function randomLayers(sizes: number[], seed = 1): DenseLayer[] {
  let state = seed >>> 0 || 1;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32 - 0.5;
  };
  return sizes.slice(1).map((outputs, i) => {
    const inputs = sizes[i]!;
    const scale = 2 * Math.sqrt(6 / (inputs + outputs));
    return {
      inputs,
      outputs,
      w: Float32Array.from({ length: inputs * outputs }, () => next() * scale),
      b: Float32Array.from({ length: outputs }, () => next() * 0.1),
    };
  });
}

function dense(layers: DenseLayer[], input: string, prefix: string) {
  const nodes: ReturnType<typeof node>[] = [];
  const initializer: ReturnType<typeof tensor>[] = [];
  let current = input;
  layers.forEach((layer, i) => {
    const w = `${prefix}${i}_w`;
    const b = `${prefix}${i}_b`;
    initializer.push(tensor(w, [layer.inputs, layer.outputs], layer.w), tensor(b, [layer.outputs], layer.b));
    nodes.push(
      node('MatMul', [current, w], [`${prefix}${i}_mm`]),
      node('Add', [`${prefix}${i}_mm`, b], [`${prefix}${i}_z`]),
    );
    current = `${prefix}${i}_z`;
    if (i < layers.length - 1) {
      nodes.push(node('Relu', [current], [`${prefix}${i}_a`]));
      current = `${prefix}${i}_a`;
    }
  });
  return { nodes, initializer, output: current };
}

/** MLP (MatMul/Add/Relu hidden layers, Sigmoid output) → `probability` [N, 1]. */
export function buildMlpClassifier(layers: DenseLayer[], metadata: ModelMetadata = {}): BuiltModel {
  if (layers.at(-1)?.outputs !== 1) throw new Error('classifier needs one output unit');
  const net = dense(layers, INPUT_NAME, 'l');
  net.nodes.push(node('Sigmoid', [net.output], ['probability']));
  return assemble(
    'mlp-classifier',
    net.nodes,
    net.initializer,
    layers[0]!.inputs,
    { name: 'probability', dims: ['N', 1] },
    metadata,
  );
}

/** A fixed amount of matrix work per run: `depth` products of a [rows, width] by a [width, width] matrix. */
export interface RunWork {
  rows: number;
  width: number;
  depth: number;
}

/**
 * The MLP classifier of buildMlpClassifier, made slow: every run also multiplies a [rows, width]
 * matrix derived from the batch (so ONNX Runtime cannot fold it away at load) `depth` times by a
 * [width, width] one, and adds the result times 0 to the logit. The scores are the plain MLP's; each
 * run costs about rows·width²·depth more multiply-adds, whatever the batch size. For latency faults.
 */
export function buildSlowMlpClassifier(
  layers: DenseLayer[],
  work: RunWork,
  metadata: ModelMetadata = {},
): BuiltModel {
  if (layers.at(-1)?.outputs !== 1) throw new Error('classifier needs one output unit');
  const net = dense(layers, INPUT_NAME, 'l');
  const [w] = randomLayers([work.width, work.width], 7);
  const n = work.rows * work.width;
  net.initializer.push(
    tensor(
      'work_c',
      [work.rows, work.width],
      Float32Array.from({ length: n }, (_, i) => ((i % 7) - 3) / 3),
    ),
    tensor('work_w', [work.width, work.width], w!.w),
    tensor('work_zero', [1], [0]),
  );
  // ReduceSum of every input value ([1, 1]); Tanh after each product keeps the values finite.
  net.nodes.push(
    node('ReduceSum', [INPUT_NAME], ['work_s'], [{ name: 'keepdims', type: ATTR_INT, i: 1 }]),
    node('Mul', ['work_s', 'work_c'], ['work_0']),
  );
  for (let d = 0; d < work.depth; d++)
    net.nodes.push(
      node('MatMul', [`work_${d}`, 'work_w'], [`work_${d}_mm`]),
      node('Tanh', [`work_${d}_mm`], [`work_${d + 1}`]),
    );
  net.nodes.push(
    node('ReduceSum', [`work_${work.depth}`], ['work_sum'], [{ name: 'keepdims', type: ATTR_INT, i: 1 }]),
    node('Mul', ['work_sum', 'work_zero'], ['work_nothing']),
    node('Add', [net.output, 'work_nothing'], ['logit']),
    node('Sigmoid', ['logit'], ['probability']),
  );
  return assemble(
    'slow-mlp-classifier',
    net.nodes,
    net.initializer,
    layers[0]!.inputs,
    { name: 'probability', dims: ['N', 1] },
    metadata,
  );
}

/**
 * A well-formed graph (inputs, nodes, outputs all wired) whose one node is an operator no ONNX opset
 * defines: structural checks pass, ONNX Runtime refuses to create a session. For verification tests.
 */
export function buildUnknownOpModel(width: number): BuiltModel {
  return assemble(
    'unknown-op',
    [node('PrognosNoSuchOp', [INPUT_NAME], ['probability'])],
    [],
    width,
    { name: 'probability', dims: ['N', 1] },
    {},
  );
}

/** y = x·w + b → `rul` [N, 1], with `prognos.linear` metadata for exact contributions. */
export function buildLinearRegressor(
  coefficients: number[],
  intercept: number,
  metadata: Omit<ModelMetadata, 'linear'> = {},
): BuiltModel {
  const layer: DenseLayer = {
    inputs: coefficients.length,
    outputs: 1,
    w: Float32Array.from(coefficients),
    b: Float32Array.of(intercept),
  };
  const net = dense([layer], INPUT_NAME, 'lin');
  net.nodes.push(node('Identity', [net.output], ['rul']));
  return assemble(
    'linear-rul',
    net.nodes,
    net.initializer,
    coefficients.length,
    { name: 'rul', dims: ['N', 1] },
    {
      ...metadata,
      linear: { coefficients, intercept },
    },
  );
}

/** Encoder/decoder dense stack whose output has the input's width → `reconstruction` [N, F]. */
export function buildAutoencoder(layers: DenseLayer[], metadata: ModelMetadata = {}): BuiltModel {
  const width = layers[0]!.inputs;
  if (layers.at(-1)?.outputs !== width)
    throw new Error('autoencoder output width must equal its input width');
  const net = dense(layers, INPUT_NAME, 'ae');
  net.nodes.push(node('Identity', [net.output], ['reconstruction']));
  return assemble(
    'autoencoder',
    net.nodes,
    net.initializer,
    width,
    { name: 'reconstruction', dims: ['N', width] },
    metadata,
  );
}

/** A binary regression tree: go left when x[feature] <= threshold. */
export type TreeNode =
  { leaf: number } | { feature: number; threshold: number; left: TreeNode; right: TreeNode };

/** Sum of trees plus a base value via ai.onnx.ml TreeEnsembleRegressor → `variable` [N, 1]. */
export function buildTreeEnsembleRegressor(
  trees: TreeNode[],
  width: number,
  baseValue = 0,
  metadata: ModelMetadata = {},
): BuiltModel {
  const nodes = [treeEnsembleNode(trees, width, baseValue, 'SUM', 'variable')];
  return assemble('tree-ensemble', nodes, [], width, { name: 'variable', dims: ['N', 1] }, metadata, true);
}

/** Average path length of an unsuccessful search in a binary search tree of n points (Liu et al. 2008). */
export function isolationPathNorm(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  return 2 * (Math.log(n - 1) + 0.5772156649) - (2 * (n - 1)) / n;
}

/**
 * Grows an isolation forest on `rows` (Liu, Ting and Zhou 2008): each tree isolates a random
 * subsample by random splits; a leaf holds its depth plus the expected depth of the points left in
 * it. Deterministic for a seed; a test and demo model builder, not a trainer.
 */
export function growIsolationForest(
  rows: readonly (readonly number[])[],
  opts: { trees: number; sampleSize: number; seed: number },
): { trees: TreeNode[]; sampleSize: number } {
  let state = opts.seed >>> 0 || 1;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const sampleSize = Math.min(opts.sampleSize, rows.length);
  const maxDepth = Math.ceil(Math.log2(Math.max(2, sampleSize)));
  const grow = (sample: readonly (readonly number[])[], depth: number): TreeNode => {
    if (depth >= maxDepth || sample.length <= 1) return { leaf: depth + isolationPathNorm(sample.length) };
    const feature = Math.floor(next() * sample[0]!.length);
    const values = sample.map((r) => r[feature]!);
    const lo = Math.min(...values);
    const hi = Math.max(...values);
    if (lo === hi) return { leaf: depth + isolationPathNorm(sample.length) };
    const threshold = lo + next() * (hi - lo);
    return {
      feature,
      threshold,
      left: grow(
        sample.filter((r) => r[feature]! <= threshold),
        depth + 1,
      ),
      right: grow(
        sample.filter((r) => r[feature]! > threshold),
        depth + 1,
      ),
    };
  };
  const trees = Array.from({ length: opts.trees }, () => {
    const sample = Array.from({ length: sampleSize }, () => rows[Math.floor(next() * rows.length)]!);
    return grow(sample, 0);
  });
  return { trees, sampleSize };
}

/**
 * An isolation forest's anomaly score s = 2^(−E[h(x)] / c(ψ)) in (0, 1], higher = more anomalous:
 * an ai.onnx.ml TreeEnsembleRegressor averages the path lengths, then Mul and Pow → `score` [N, 1].
 * Marked `prognos.anomaly_output: score` so a one-input forest is not read as an autoencoder.
 */
export function buildIsolationForest(
  forest: { trees: TreeNode[]; sampleSize: number },
  width: number,
  metadata: ModelMetadata = {},
): BuiltModel {
  const nodes = [
    treeEnsembleNode(forest.trees, width, 0, 'AVERAGE', 'path'),
    node('Mul', ['path', 'neg_inv_norm'], ['exponent']),
    node('Pow', ['two', 'exponent'], ['score']),
  ];
  const initializer = [
    tensor('neg_inv_norm', [1], [-1 / isolationPathNorm(forest.sampleSize)]),
    tensor('two', [1], [2]),
  ];
  const withKind = { ...metadata, extra: { 'prognos.anomaly_output': 'score', ...metadata.extra } };
  return assemble(
    'isolation-forest',
    nodes,
    initializer,
    width,
    { name: 'score', dims: ['N', 1] },
    withKind,
    true,
  );
}

function treeEnsembleNode(
  trees: TreeNode[],
  width: number,
  baseValue: number,
  aggregate: 'SUM' | 'AVERAGE',
  output: string,
): ReturnType<typeof node> {
  const a = {
    treeIds: [] as number[],
    nodeIds: [] as number[],
    featureIds: [] as number[],
    modes: [] as string[],
    values: [] as number[],
    trueIds: [] as number[],
    falseIds: [] as number[],
    targetTreeIds: [] as number[],
    targetNodeIds: [] as number[],
    targetWeights: [] as number[],
  };
  trees.forEach((tree, treeId) => {
    let nextId = 0;
    const visit = (n: TreeNode): number => {
      const id = nextId++;
      const at = a.nodeIds.length;
      a.treeIds.push(treeId);
      a.nodeIds.push(id);
      if ('leaf' in n) {
        a.featureIds.push(0);
        a.modes.push('LEAF');
        a.values.push(0);
        a.trueIds.push(0);
        a.falseIds.push(0);
        a.targetTreeIds.push(treeId);
        a.targetNodeIds.push(id);
        a.targetWeights.push(n.leaf);
        return id;
      }
      if (n.feature < 0 || n.feature >= width)
        throw new Error(`tree ${treeId}: feature ${n.feature} out of range`);
      a.featureIds.push(n.feature);
      a.modes.push('BRANCH_LEQ');
      a.values.push(n.threshold);
      a.trueIds.push(0);
      a.falseIds.push(0);
      a.trueIds[at] = visit(n.left);
      a.falseIds[at] = visit(n.right);
      return id;
    };
    visit(tree);
  });
  const ints = (name: string, v: number[]): Attribute => ({ name, type: ATTR_INTS, ints: v });
  const floats = (name: string, v: number[]): Attribute => ({ name, type: ATTR_FLOATS, floats: v });
  const text = (s: string) => new TextEncoder().encode(s);
  const attributes: Attribute[] = [
    { name: 'n_targets', type: ATTR_INT, i: 1 },
    { name: 'aggregate_function', type: ATTR_STRING, s: text(aggregate) },
    { name: 'post_transform', type: ATTR_STRING, s: text('NONE') },
    floats('base_values', [baseValue]),
    ints('nodes_treeids', a.treeIds),
    ints('nodes_nodeids', a.nodeIds),
    ints('nodes_featureids', a.featureIds),
    { name: 'nodes_modes', type: ATTR_STRINGS, strings: a.modes.map(text) },
    floats('nodes_values', a.values),
    ints('nodes_truenodeids', a.trueIds),
    ints('nodes_falsenodeids', a.falseIds),
    ints('target_treeids', a.targetTreeIds),
    ints('target_nodeids', a.targetNodeIds),
    ints(
      'target_ids',
      a.targetTreeIds.map(() => 0),
    ),
    floats('target_weights', a.targetWeights),
  ];
  return node('TreeEnsembleRegressor', [INPUT_NAME], [output], attributes, 'ai.onnx.ml');
}

/** A 1-D convolution over time, then global average pooling and a dense unit (conv.w is [C, F, K]). */
export interface TemporalCnn {
  steps: number;
  features: number;
  kernel: number;
  filters: number;
  conv: { w: Float32Array; b: Float32Array };
  dense: { w: Float32Array; b: number };
}

/** Deterministic weights for a TemporalCnn. */
export function randomTemporalCnn(
  shape: Pick<TemporalCnn, 'steps' | 'features' | 'kernel' | 'filters'>,
  seed = 1,
): TemporalCnn {
  const [convLayer, denseLayer] = randomLayers([shape.features * shape.kernel, shape.filters, 1], seed) as [
    DenseLayer,
    DenseLayer,
  ];
  // randomLayers gives [in, out]; Conv wants [out, in]: transpose.
  const w = new Float32Array(shape.filters * shape.features * shape.kernel);
  for (let c = 0; c < shape.filters; c++)
    for (let i = 0; i < shape.features * shape.kernel; i++)
      w[c * shape.features * shape.kernel + i] = convLayer.w[i * shape.filters + c]!;
  return { ...shape, conv: { w, b: convLayer.b }, dense: { w: denseLayer.w, b: denseLayer.b[0]! } };
}

/**
 * A sequence model of the kind the RUL literature uses on C-MAPSS windows (a CNN over the last T
 * cycles): `features` [N, T, F] → Transpose [N, F, T] → Conv (K taps, C filters) → Relu →
 * GlobalAveragePool → Flatten → MatMul/Add → Sigmoid `probability` (classification) or `rul`
 * (regression), [N, 1].
 */
export function buildTemporalCnn(
  cnn: TemporalCnn,
  task: 'classification' | 'regression',
  metadata: ModelMetadata = {},
): BuiltModel {
  const { steps, features, kernel, filters } = cnn;
  const out = task === 'classification' ? 'probability' : 'rul';
  const nodes = [
    node('Transpose', [INPUT_NAME], ['x_nft'], [{ name: 'perm', type: ATTR_INTS, ints: [0, 2, 1] }]),
    node(
      'Conv',
      ['x_nft', 'conv_w', 'conv_b'],
      ['conv'],
      [{ name: 'kernel_shape', type: ATTR_INTS, ints: [kernel] }],
    ),
    node('Relu', ['conv'], ['conv_a']),
    node('GlobalAveragePool', ['conv_a'], ['pooled']),
    node('Flatten', ['pooled'], ['flat'], [{ name: 'axis', type: ATTR_INT, i: 1 }]),
    node('MatMul', ['flat', 'dense_w'], ['dense_mm']),
    node('Add', ['dense_mm', 'dense_b'], ['dense_z']),
    node(task === 'classification' ? 'Sigmoid' : 'Identity', ['dense_z'], [out]),
  ];
  const initializer = [
    tensor('conv_w', [filters, features, kernel], cnn.conv.w),
    tensor('conv_b', [filters], cnn.conv.b),
    tensor('dense_w', [filters, 1], cnn.dense.w),
    tensor('dense_b', [1], [cnn.dense.b]),
  ];
  return assemble(
    'temporal-cnn',
    nodes,
    initializer,
    ['N', steps, features],
    { name: out, dims: ['N', 1] },
    metadata,
  );
}
