import { describe, expect, it } from 'vitest';
import { writeNeed } from './machineHealthStore.ts';

describe('writeNeed (machine health throttle)', () => {
  it.each([
    ['first sighting of an ok machine', undefined, 'ok', 0, 'refresh'],
    ['first sighting of a failing machine', undefined, 'critical', 0, 'change'],
    ['same severity within the interval', { at: 1000, severity: 'ok' }, 'ok', 3999, 'none'],
    ['same severity once the interval passed', { at: 1000, severity: 'ok' }, 'ok', 4000, 'refresh'],
    ['severity change within the interval', { at: 1000, severity: 'ok' }, 'critical', 1001, 'change'],
  ] as const)('%s', (_name, last, severity, now, expected) => {
    expect(writeNeed(last, severity, now, 3000)).toBe(expected);
  });
});
