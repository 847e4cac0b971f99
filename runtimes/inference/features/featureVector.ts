// Turns the configured model inputs (`vibration`, `vibration.mean`, ...) into a compiled plan that
// fills one Float32Array row per reading straight from the window store, without allocating.
import { resolveInput, resolveSequenceInputs } from '../../../contracts/modelInputs.ts';
import type { Aggregation, RuntimeConfig } from '../../../contracts/runtimeConfig.ts';
import { WindowStore, type WindowSpec } from './windows.ts';

type Column =
  { kind: 'latest'; featureIndex: number } | { kind: 'window'; window: number; aggregation: Aggregation };

export interface FeatureVectorBuilder {
  readonly width: number;
  readonly inputs: readonly string[];
  /** What a machine's windows must hold before its rows are what full windows give (WindowStore.warmedUp). */
  readonly warmup: { readings: number; spanMs: number };
  /** Writes the row of the machine in `slot` at `out[offset .. offset+width)`. */
  fill(store: WindowStore, slot: number, out: Float32Array, offset: number): void;
}

export function windowSpecsOf(config: Pick<RuntimeConfig, 'schema' | 'windows'>): WindowSpec[] {
  const index = new Map(config.schema.features.map((f, i) => [f.name, i]));
  return config.windows.map((w) => ({
    featureIndex: index.get(w.feature)!,
    size: w.size,
    ...(w.durationMs !== undefined ? { durationMs: w.durationMs } : {}),
    aggregations: w.aggregations,
  }));
}

/**
 * `inputs` must already be validated against schema and windows (parseRuntimeConfig does). With a
 * `sequenceLength` T the row is a sequence model's [T, F] block (resolveSequenceInputs).
 */
export function createFeatureVectorBuilder(
  config: Pick<RuntimeConfig, 'schema' | 'windows'>,
  inputs: readonly string[],
  sequenceLength?: number,
): FeatureVectorBuilder {
  const featureIndex = new Map(config.schema.features.map((f, i) => [f.name, i]));
  const features = new Set(featureIndex.keys());
  if (sequenceLength !== undefined) return sequenceBuilder(config, inputs, features, sequenceLength);
  const columns: Column[] = inputs.map((name) => {
    const r = resolveInput(name, features, config.windows);
    if (!r.ok) throw new Error(`input ${name}: ${r.problem}`);
    if (r.kind === 'samples')
      throw new Error(
        `input ${name}: reads a window of raw values, which only a sequence model [N, T, F] takes`,
      );
    return r.kind === 'latest'
      ? { kind: 'latest', featureIndex: featureIndex.get(r.feature)! }
      : { kind: 'window', window: r.window, aggregation: r.aggregation };
  });
  const used = columns.flatMap((c) => (c.kind === 'window' ? [config.windows[c.window]!] : []));
  return {
    width: columns.length,
    inputs,
    warmup: warmupOf(used),
    fill(store, slot, out, offset) {
      for (let i = 0; i < columns.length; i++) {
        const c = columns[i]!;
        // A feature never seen yet (optional and absent so far) feeds 0 rather than NaN into the model.
        const v =
          c.kind === 'latest'
            ? store.latest(slot, c.featureIndex)
            : store.aggregate(slot, c.window, c.aggregation);
        out[offset + i] = Number.isNaN(v) ? 0 : v;
      }
    },
  };
}

/** Row = the last T values of each input's window, time-major ([t][input]), zeros before a machine's first readings. */
function sequenceBuilder(
  config: Pick<RuntimeConfig, 'windows'>,
  inputs: readonly string[],
  features: ReadonlySet<string>,
  length: number,
): FeatureVectorBuilder {
  const resolved = resolveSequenceInputs(inputs, features, config.windows, length);
  if (!resolved.ok) throw new Error(resolved.problems.join('; '));
  const windows = resolved.windows;
  const f = windows.length;
  return {
    width: length * f,
    inputs,
    warmup: { ...warmupOf(windows.map((w) => config.windows[w]!)), readings: length },
    fill(store, slot, out, offset) {
      for (let j = 0; j < f; j++) store.copyLast(slot, windows[j]!, length, out, offset + j, f);
    },
  };
}

/** A count window is full after `size` readings, a time window after its duration of readings. */
function warmupOf(windows: readonly { size: number; durationMs?: number | undefined }[]): {
  readings: number;
  spanMs: number;
} {
  let readings = 1;
  let spanMs = 0;
  for (const w of windows) {
    if (w.durationMs === undefined) readings = Math.max(readings, w.size);
    else spanMs = Math.max(spanMs, w.durationMs);
  }
  return { readings, spanMs };
}
