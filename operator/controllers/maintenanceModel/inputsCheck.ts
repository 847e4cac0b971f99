import type { Baseline } from '../../../contracts/modelBaseline.ts';
import { resolveSequenceInputs } from '../../../contracts/modelInputs.ts';
import { unresolvedInputs } from '../../api/inputs.ts';
import type { SensorFleet } from '../../api/sensorFleet.ts';

/** What verification needs to know about an ONNX file's signature. */
export interface OnnxSignature {
  inputs: {
    name: string;
    /** Dimensions declared; 0 when the graph declares no shape. */
    rank?: number;
    /** Static size of the last dimension; undefined when symbolic. */
    width?: number;
    /** T of a sequence model's [N, T, F] input, when static. */
    sequenceLength?: number;
  }[];
  outputs: string[];
  /** The training baseline from the artifact's metadata (`prognos.baseline`), when present and valid. */
  baseline?: Baseline;
  /** Why a present `prognos.baseline` was not usable (drift detection then has no reference). */
  baselineError?: string;
}

/** A precise reason for refusing a model, as a condition reason and a human message. */
export interface Refusal {
  reason: string;
  message: string;
  /** Not a verdict yet (the check waits its turn): the condition is Unknown, not False. */
  pending?: true;
}

/**
 * spec.model.inputs against the ONNX file, as the runtime feeds it: one [batch, n] float tensor whose
 * width n is the number of inputs, or a sequence model's [batch, T, n] with a static T (model.ts
 * checkSignature). A symbolic width passes here; the runtime's load check (runtimeLoadCheck.ts) then
 * runs a row of that width.
 */
export function checkOnnxInputs(
  signature: OnnxSignature,
  inputs: readonly string[],
  output?: string,
): Refusal | undefined {
  if (signature.inputs.length !== 1) {
    return {
      reason: 'InvalidOnnxInputs',
      message: `the runtime feeds one [N, ${inputs.length}] tensor; the ONNX graph declares ${signature.inputs.length} inputs${signature.inputs.length ? ` (${signature.inputs.map((i) => i.name).join(', ')})` : ''}`,
    };
  }
  const { rank, sequenceLength } = signature.inputs[0]!;
  if (rank !== undefined && rank !== 0 && rank !== 2 && !(rank === 3 && sequenceLength !== undefined)) {
    return {
      reason: 'InvalidOnnxInputs',
      message: `ONNX input ${signature.inputs[0]!.name} has ${rank} dimensions; the runtime feeds [N, ${inputs.length}], or [N, T, ${inputs.length}] with a static T for a sequence model`,
    };
  }
  const width = signature.inputs[0]!.width;
  if (width !== undefined && width !== inputs.length) {
    return {
      reason: 'InvalidOnnxInputs',
      message: `ONNX input ${signature.inputs[0]!.name} has ${width} columns but spec.model.inputs lists ${inputs.length}`,
    };
  }
  if (output !== undefined && !signature.outputs.includes(output)) {
    return {
      reason: 'InvalidOnnxOutput',
      message: `spec.model.output ${output} is not an output of the ONNX graph (outputs: ${signature.outputs.join(', ')})`,
    };
  }
  return undefined;
}

/**
 * spec.model.inputs against the fleet: each names a declared feature, or an aggregation one of its
 * windows computes; for a sequence model (`sequenceLength` T, from the verified ONNX file), a window
 * of raw values that keeps at least T readings.
 */
export function checkFleetInputs(
  inputs: readonly string[],
  fleet: SensorFleet,
  sequenceLength?: number,
): Refusal | undefined {
  const sequence =
    sequenceLength === undefined
      ? undefined
      : resolveSequenceInputs(
          inputs,
          new Set(fleet.spec.schema.features.map((f) => f.name)),
          fleet.spec.windows ?? [],
          sequenceLength,
        );
  const problems = sequence
    ? sequence.ok
      ? []
      : sequence.problems
    : unresolvedInputs(fleet.spec, inputs).map(({ input, problem }) => `${input}: ${problem}`);
  return problems.length === 0
    ? undefined
    : {
        reason: 'InputsNotInFleet',
        message: `spec.model.inputs do not match SensorFleet ${fleet.metadata.name}: ${problems.join('; ')}`,
      };
}
