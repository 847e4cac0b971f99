// Prognos' custom ONNX metadata (ModelProto.metadata_props), validated: training writes it, the
// runtime uses it for drift bins, occlusion baselines, anomaly scales and exact linear contributions.
import { type Static, Type as T } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { BASELINE_KEY, parseBaseline, type Baseline } from '../../../contracts/modelBaseline.ts';

export const LINEAR_KEY = 'prognos.linear';
/**
 * anomaly models: `score` when the output is an anomaly score (higher = more anomalous, e.g. PCA
 * T²/Q, or an IsolationForest's negated decision function). Needed only for a one-input model, whose
 * [N, 1] output could also be a reconstruction; with more inputs the output's width tells.
 */
export const ANOMALY_OUTPUT_KEY = 'prognos.anomaly_output';

const Linear = T.Object({ coefficients: T.Array(T.Number()), intercept: T.Number() });

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
    const parsed = parseBaseline(baseline, width);
    if (!parsed.ok) throw new Error(parsed.error);
    info.baseline = parsed.baseline;
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
