import { describe, expect, it } from 'vitest';
import { unresolvedInputs } from './inputs.ts';
import type { SensorFleetSpec } from './sensorFleet.ts';

const fleet = {
  schema: {
    features: [{ name: 'vibration' }, { name: 'temperature' }],
  },
  windows: [{ feature: 'vibration', size: 60, aggregations: ['rms', 'slope'] }],
} as unknown as SensorFleetSpec;

describe('unresolvedInputs', () => {
  it.each([
    ['raw features', ['vibration', 'temperature'], []],
    ['window aggregations', ['vibration.rms', 'vibration.slope'], []],
    ['an undeclared feature', ['pressure', 'vibration'], ['pressure']],
    ['an aggregation the window does not compute', ['vibration.kurtosis'], ['vibration.kurtosis']],
    ['an aggregation of a feature without a window', ['temperature.mean'], ['temperature.mean']],
  ])('%s', (_name, inputs, missing) => {
    expect(unresolvedInputs(fleet, inputs).map((u) => u.input)).toEqual(missing);
  });

  it('treats a fleet without windows as raw features only', () => {
    const noWindows = { ...fleet, windows: undefined };
    expect(unresolvedInputs(noWindows, ['vibration', 'vibration.rms'])).toEqual([
      { input: 'vibration.rms', problem: 'no window over vibration' },
    ]);
  });
});
