// Plain-JS forward passes of the models buildModel.ts writes, so tests can check ORT's results.
import type { DenseLayer, TemporalCnn, TreeNode } from './buildModel.ts';

export function denseForward(layers: DenseLayer[], x: ArrayLike<number>): number[] {
  let current = Array.from(x);
  layers.forEach((layer, l) => {
    const out: number[] = Array.from(layer.b);
    for (let j = 0; j < layer.outputs; j++) {
      for (let i = 0; i < layer.inputs; i++) out[j]! += current[i]! * layer.w[i * layer.outputs + j]!;
    }
    current = l < layers.length - 1 ? out.map((v) => Math.max(0, v)) : out;
  });
  return current;
}

export const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

export function treeForward(trees: TreeNode[], x: ArrayLike<number>, baseValue = 0): number {
  let sum = baseValue;
  for (let n of trees) {
    while (!('leaf' in n)) n = Math.fround(x[n.feature]!) <= Math.fround(n.threshold) ? n.left : n.right;
    sum += n.leaf;
  }
  return sum;
}

/** The isolation forest score buildIsolationForest computes, in plain JS. */
export function isolationScore(
  forest: { trees: TreeNode[]; sampleSize: number },
  x: ArrayLike<number>,
  pathNorm: (n: number) => number,
): number {
  const mean = forest.trees.reduce((sum, t) => sum + treeForward([t], x), 0) / forest.trees.length;
  return 2 ** (-mean / pathNorm(forest.sampleSize));
}

/** The TemporalCnn's output (before the sigmoid) for one sequence, `x` time-major [T][F]. */
export function temporalCnnForward(cnn: TemporalCnn, x: ArrayLike<number>): number {
  const { steps, features, kernel, filters } = cnn;
  const positions = steps - kernel + 1;
  let out = cnn.dense.b;
  for (let c = 0; c < filters; c++) {
    let sum = 0;
    for (let p = 0; p < positions; p++) {
      let z = cnn.conv.b[c]!;
      for (let f = 0; f < features; f++)
        for (let k = 0; k < kernel; k++)
          z += cnn.conv.w[(c * features + f) * kernel + k]! * x[(p + k) * features + f]!;
      sum += Math.max(0, z);
    }
    out += (sum / positions) * cnn.dense.w[c]!;
  }
  return out;
}
