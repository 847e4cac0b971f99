// The training baseline and report, written into the artifact's ONNX metadata_props: per-input means
// (the occlusion baseline), decile bins and the training rows' histogram over them (what telemetry's
// feature histograms use as `baseline` bins and drift compares against), and `prognos.training`
// (data window, row counts, targets, metrics).
import protobuf from 'protobufjs';
import { Histogram } from '../inference/features/histogram.ts';
import { BASELINE_KEY, type Baseline } from '../../contracts/modelBaseline.ts';

export const TRAINING_KEY = 'prognos.training';

/** Decile edges of each input over the training rows; a column with fewer than 2 distinct edges gets none. */
export function baselineOf(inputs: readonly string[], rows: Float32Array, count: number): Baseline {
  const width = inputs.length;
  const means: number[] = [];
  const bins: Record<string, number[]> = {};
  const histograms: Record<string, number[]> = {};
  const column = new Float32Array(count);
  for (let j = 0; j < width; j++) {
    let sum = 0;
    for (let r = 0; r < count; r++) sum += column[r] = rows[r * width + j]!;
    means.push(count > 0 ? sum / count : 0);
    column.sort();
    const edges = [
      ...new Set(Array.from({ length: 9 }, (_, q) => column[Math.floor(((q + 1) * count) / 10)]!)),
    ];
    if (count === 0 || edges.length < 2) continue;
    const histogram = new Histogram(edges);
    for (let r = 0; r < count; r++) histogram.observe(column[r]!);
    bins[inputs[j]!] = edges;
    histograms[inputs[j]!] = Array.from(histogram.counts);
  }
  return { inputs: [...inputs], means, bins, histograms };
}

/**
 * Appends metadata_props entries (ModelProto field 14) to serialized ONNX bytes. Protobuf merges
 * repeated fields across the message, so appending is a valid edit that leaves the graph's bytes as
 * they were; a later entry of the same key wins when read back (readModelMetadata).
 */
export function appendMetadata(onnx: Uint8Array, entries: Record<string, string>): Uint8Array {
  const w = protobuf.Writer.create();
  for (const [key, value] of Object.entries(entries)) {
    w.uint32((14 << 3) | 2).fork();
    w.uint32((1 << 3) | 2).string(key);
    w.uint32((2 << 3) | 2).string(value);
    w.ldelim();
  }
  const tail = w.finish();
  const out = new Uint8Array(onnx.length + tail.length);
  out.set(onnx);
  out.set(tail, onnx.length);
  return out;
}

export function baselineEntry(baseline: Baseline): Record<string, string> {
  return { [BASELINE_KEY]: JSON.stringify(baseline) };
}
