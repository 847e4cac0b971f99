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
      'a sequence model [N, 30, 3]',
      { inputs: [{ name: 'features', rank: 3, width: 3, sequenceLength: 30 }], outputs: ['p'] },
      undefined,
      undefined,
    ],
    [
      'a sequence with a symbolic length [N, T, 3]',
      { inputs: [{ name: 'features', rank: 3, width: 3 }], outputs: ['p'] },
      undefined,
      'InvalidOnnxInputs',
    ],
    [
      'an image-like [N, C, H, W] input',
      { inputs: [{ name: 'features', rank: 4, width: 3 }], outputs: ['p'] },
      undefined,
      'InvalidOnnxInputs',
    ],
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

  it('a sequence model needs a window of raw values per input that keeps its T readings', () => {
    const fleet = fleetFixture(); // vibration: one window of 60 readings
    expect(checkFleetInputs(['vibration'], fleet, 60)).toBeUndefined();
    expect(checkFleetInputs(['vibration'], fleet, 61)?.message).toMatch(
      /vibration: the model takes the last 61 readings but window default over vibration keeps 60/,
    );
    expect(checkFleetInputs(['temperature'], fleet, 30)?.message).toMatch(/no window over temperature/);
    expect(checkFleetInputs(['vibration.rms'], fleet, 30)?.message).toMatch(/raw values, not an aggregation/);
  });
});
