import { describe, expect, it } from 'vitest';
import { fleetFixture } from '../testdata/fixtures.ts';
import { checkFleetInputs, checkOnnxInputs, type OnnxSignature } from './inputsCheck.ts';

const inputs = ['vibration', 'temperature', 'vibration.rms'];

describe('checkOnnxInputs', () => {
  it.each<[string, OnnxSignature, string | undefined, string | undefined]>([
    [
      'one [N, 3] tensor',
      { inputs: [{ name: 'features', width: 3 }], outputs: ['probability'] },
      undefined,
      undefined,
    ],
    ['symbolic width', { inputs: [{ name: 'features' }], outputs: ['probability'] }, undefined, undefined],
    [
      'wrong width',
      { inputs: [{ name: 'features', width: 4 }], outputs: ['p'] },
      undefined,
      'InvalidOnnxInputs',
    ],
    [
      'one named [N, 1] input per column (the runtime feeds one tensor)',
      { inputs: inputs.map((name) => ({ name, width: 1 })), outputs: ['p'] },
      undefined,
      'InvalidOnnxInputs',
    ],
    ['no inputs', { inputs: [], outputs: ['p'] }, undefined, 'InvalidOnnxInputs'],
    [
      'known output',
      { inputs: [{ name: 'features', width: 3 }], outputs: ['label', 'probability'] },
      'probability',
      undefined,
    ],
    [
      'unknown output',
      { inputs: [{ name: 'features', width: 3 }], outputs: ['label'] },
      'probability',
      'InvalidOnnxOutput',
    ],
  ])('%s', (_, signature, output, reason) => {
    expect(checkOnnxInputs(signature, inputs, output)?.reason).toBe(reason);
  });
});

describe('checkFleetInputs', () => {
  it.each([
    [['vibration', 'temperature', 'vibration.rms'], undefined],
    [['pressure'], /pressure: no feature pressure/],
    [['vibration.kurtosis'], /window default over vibration does not compute kurtosis/],
    [['temperature.mean'], /temperature.mean: no window over temperature/],
  ])('%j', (names, problem) => {
    const refusal = checkFleetInputs(names, fleetFixture());
    if (problem === undefined) expect(refusal).toBeUndefined();
    else {
      expect(refusal?.reason).toBe('InputsNotInFleet');
      expect(refusal?.message).toMatch(problem);
    }
  });
});
