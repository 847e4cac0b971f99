// Turns the configured model inputs (`vibration`, `vibration.mean`, ...) into a compiled plan that
// fills one Float32Array row per reading straight from the window store, without allocating.
import { resolveInput } from '../../../contracts/modelInputs.ts';
import type { Aggregation, RuntimeConfig } from '../../../contracts/runtimeConfig.ts';
import { WindowStore, type WindowSpec } from './windows.ts';

type Column =
  { kind: 'latest'; featureIndex: number } | { kind: 'window'; window: number; aggregation: Aggregation };

export interface FeatureVectorBuilder {
  readonly width: number;
  readonly inputs: readonly string[];
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

/** `inputs` must already be validated against schema and windows (parseRuntimeConfig does). */
export function createFeatureVectorBuilder(
  config: Pick<RuntimeConfig, 'schema' | 'windows'>,
  inputs: readonly string[],
): FeatureVectorBuilder {
  const featureIndex = new Map(config.schema.features.map((f, i) => [f.name, i]));
  const features = new Set(featureIndex.keys());
  const columns: Column[] = inputs.map((name) => {
    const r = resolveInput(name, features, config.windows);
    if (!r.ok) throw new Error(`input ${name}: ${r.problem}`);
    return r.kind === 'latest'
      ? { kind: 'latest', featureIndex: featureIndex.get(r.feature)! }
      : { kind: 'window', window: r.window, aggregation: r.aggregation };
  });
  return {
    width: columns.length,
    inputs,
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
