import { describe, expect, it } from 'vitest';
import { shouldWrite } from './machineHealthStore.ts';

describe('shouldWrite (machine health throttle)', () => {
  it.each([
    ['first state of a machine', undefined, 'ok', 0, true],
    ['same severity within the interval', { at: 1000, severity: 'ok' }, 'ok', 3999, false],
    ['same severity once the interval passed', { at: 1000, severity: 'ok' }, 'ok', 4000, true],
    ['severity change within the interval', { at: 1000, severity: 'ok' }, 'critical', 1001, true],
  ] as const)('%s', (_name, last, severity, now, expected) => {
    expect(shouldWrite(last, severity, now, 3000)).toBe(expected);
  });
});
