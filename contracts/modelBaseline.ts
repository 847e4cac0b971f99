// The training baseline (`prognos.baseline` in an ONNX artifact's metadata_props): written by the
// trainer, read by the inference runtime (occlusion baseline, drift bins, anomaly scales) and by the
// operator (the reference distributions drift detection compares telemetry with).
import { type Static, Type as T } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

export const BASELINE_KEY = 'prognos.baseline';

export const BaselineSchema = T.Object({
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

export type Baseline = Static<typeof BaselineSchema>;

export type BaselineParse = { ok: true; baseline: Baseline } | { ok: false; error: string };

/**
 * Parses and validates a `prognos.baseline` value. `width`, when known (the model's input width),
 * is what every per-input array must match; otherwise they must match `inputs`. Errors name the key.
 */
export function parseBaseline(text: string, width?: number): BaselineParse {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: `${BASELINE_KEY}: not JSON` };
  }
  if (!Value.Check(BaselineSchema, value))
    return { ok: false, error: `${BASELINE_KEY}: does not match the schema` };
  const expected = width ?? value.inputs.length;
  if ([value.inputs, value.means, value.scales ?? value.means].some((a) => a.length !== expected))
    return { ok: false, error: `${BASELINE_KEY}: arrays must have ${expected} entries` };
  for (const [input, edges] of Object.entries(value.bins ?? {})) {
    if (edges.length < 2 || edges.some((e, i) => i > 0 && e <= edges[i - 1]!))
      return { ok: false, error: `${BASELINE_KEY}: bins of ${input} must be at least 2 increasing edges` };
  }
  for (const [input, counts] of Object.entries(value.histograms ?? {})) {
    const edges = value.bins?.[input];
    if (!edges || counts.length !== edges.length + 1)
      return {
        ok: false,
        error: `${BASELINE_KEY}: histogram of ${input} needs one count more than its bins have edges`,
      };
  }
  return { ok: true, baseline: value };
}
