// Prognos' custom ONNX metadata (ModelProto.metadata_props), validated: training writes it, the
// runtime uses it for drift bins, occlusion baselines, anomaly scales and exact linear contributions.
import { type Static, Type as T } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

export const BASELINE_KEY = 'prognos.baseline';
export const LINEAR_KEY = 'prognos.linear';
/**
 * anomaly models: `score` when the output is an anomaly score (higher = more anomalous, e.g. PCA
 * T²/Q, or an IsolationForest's negated decision function). Needed only for a one-input model, whose
 * [N, 1] output could also be a reconstruction; with more inputs the output's width tells.
 */
export const ANOMALY_OUTPUT_KEY = 'prognos.anomaly_output';

const Baseline = T.Object({
  inputs: T.Array(T.String(), { description: 'Input names the model was trained on, in order.' }),
  means: T.Array(T.Number(), { description: 'Training means per input: the occlusion baseline.' }),
  bins: T.Optional(
    T.Record(T.String(), T.Array(T.Number()), { description: 'Histogram bin edges per input, for drift.' }),
  ),
  histograms: T.Optional(
    T.Record(T.String(), T.Array(T.Number({ minimum: 0 })), {
      description:
        "Training rows counted over each input's bins (bins + 1 counts, laid out as telemetry histograms): the reference distribution drift is measured against.",
    }),
  ),
  scales: T.Optional(
    T.Array(T.Number({ exclusiveMinimum: 0 }), {
      description: 'anomaly: per-input scale of reconstruction error.',
    }),
  ),
});
const Linear = T.Object({ coefficients: T.Array(T.Number()), intercept: T.Number() });

export type Baseline = Static<typeof Baseline>;
export type LinearMetadata = Static<typeof Linear>;

export interface ModelMetadataInfo {
  baseline?: Baseline;
  linear?: LinearMetadata;
  anomalyOutput?: 'score' | 'reconstruction';
}

/** Parses and validates the Prognos keys; throws with the offending key on malformed values. */
export function parseModelMetadata(props: ReadonlyMap<string, string>, width: number): ModelMetadataInfo {
  const info: ModelMetadataInfo = {};
  const baseline = props.get(BASELINE_KEY);
  if (baseline !== undefined) {
    const value = parseJson(BASELINE_KEY, baseline);
    if (!Value.Check(Baseline, value)) throw new Error(`${BASELINE_KEY}: does not match the schema`);
    const sameWidth = [value.inputs, value.means, value.scales ?? value.means];
    if (sameWidth.some((a) => a.length !== width))
      throw new Error(`${BASELINE_KEY}: arrays must have ${width} entries`);
    for (const [input, edges] of Object.entries(value.bins ?? {})) {
      if (edges.length < 2 || edges.some((e, i) => i > 0 && e <= edges[i - 1]!)) {
        throw new Error(`${BASELINE_KEY}: bins of ${input} must be at least 2 increasing edges`);
      }
    }
    for (const [input, counts] of Object.entries(value.histograms ?? {})) {
      const edges = value.bins?.[input];
      if (!edges || counts.length !== edges.length + 1)
        throw new Error(
          `${BASELINE_KEY}: histogram of ${input} needs one count more than its bins have edges`,
        );
    }
    info.baseline = value;
  }
  const linear = props.get(LINEAR_KEY);
  if (linear !== undefined) {
    const value = parseJson(LINEAR_KEY, linear);
    if (!Value.Check(Linear, value) || value.coefficients.length !== width) {
      throw new Error(`${LINEAR_KEY}: expected {coefficients: number[${width}], intercept}`);
    }
    info.linear = value;
  }
  const anomalyOutput = props.get(ANOMALY_OUTPUT_KEY);
  if (anomalyOutput !== undefined) {
    if (anomalyOutput !== 'score' && anomalyOutput !== 'reconstruction')
      throw new Error(`${ANOMALY_OUTPUT_KEY}: expected score or reconstruction, got ${anomalyOutput}`);
    info.anomalyOutput = anomalyOutput;
  }
  return info;
}

function parseJson(key: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${key}: not JSON`);
  }
}
