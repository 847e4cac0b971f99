import type { SensorFleetSpec } from './sensorFleet.ts';

/**
 * The model inputs (`temperature`, `vibration.rms`) that the fleet cannot provide: a raw input must
 * be a declared feature, an aggregation must be computed by that feature's window. CEL cannot see
 * across objects, so the operator checks this before serving and the sample tests use it too.
 */
export function unresolvedInputs(fleet: SensorFleetSpec, inputs: readonly string[]): string[] {
  const features = new Set(fleet.schema.features.map((f) => f.name));
  const aggregations = new Set(
    (fleet.windows ?? []).flatMap((w) => w.aggregations.map((a) => `${w.feature}.${a}`)),
  );
  return inputs.filter((input) => (input.includes('.') ? !aggregations.has(input) : !features.has(input)));
}
