import { resolveInput } from '../../contracts/modelInputs.ts';
import type { SensorFleetSpec } from './sensorFleet.ts';

/**
 * The model inputs (`temperature`, `vibration.rms`, `vibration.rms@1h`) that the fleet cannot
 * provide, with why (contracts/modelInputs.ts: the grammar the runtime reads them by). CEL cannot see
 * across objects, so the operator checks this before serving and the sample tests use it too.
 */
export function unresolvedInputs(
  fleet: SensorFleetSpec,
  inputs: readonly string[],
): { input: string; problem: string }[] {
  const features = new Set(fleet.schema.features.map((f) => f.name));
  const windows = fleet.windows ?? [];
  return inputs.flatMap((input) => {
    const r = resolveInput(input, features, windows);
    return r.ok ? [] : [{ input, problem: r.problem }];
  });
}
