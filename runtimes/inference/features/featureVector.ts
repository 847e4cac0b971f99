// Turns the configured model inputs (`vibration`, `vibration.mean`, ...) into a compiled plan that
// fills one Float32Array row per reading straight from the window store, without allocating.
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
    aggregations: w.aggregations,
  }));
}

/** `inputs` must already be validated against schema and windows (parseRuntimeConfig does). */
export function createFeatureVectorBuilder(
  config: Pick<RuntimeConfig, 'schema' | 'windows'>,
  inputs: readonly string[],
): FeatureVectorBuilder {
  const featureIndex = new Map(config.schema.features.map((f, i) => [f.name, i]));
  const windowIndex = new Map(config.windows.map((w, i) => [w.feature, i]));
  const columns: Column[] = inputs.map((name) => {
    const [feature = '', aggregation] = name.split('.');
    const f = featureIndex.get(feature);
    if (f === undefined) throw new Error(`input ${name}: unknown feature`);
    if (aggregation === undefined) return { kind: 'latest', featureIndex: f };
    const w = windowIndex.get(feature);
    if (w === undefined || !config.windows[w]!.aggregations.includes(aggregation as Aggregation)) {
      throw new Error(`input ${name}: no window computes ${aggregation}`);
    }
    return { kind: 'window', window: w, aggregation: aggregation as Aggregation };
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
