import { describe, expect, it } from 'vitest';
import { parseStoredState } from './alertStateStore.ts';

describe('stored alert state', () => {
  it('reads what a runtime writes', () => {
    const text = JSON.stringify({ severity: 'critical', since: 5, writer: 'pod_1_ab', updatedAt: 9 });
    expect(parseStoredState(text)).toEqual({
      severity: 'critical',
      since: 5,
      writer: 'pod_1_ab',
      updatedAt: 9,
    });
    expect(parseStoredState(JSON.stringify({ severity: 'ok', since: 0, writer: 'w' }))).toEqual({
      severity: 'ok',
      since: 0,
      writer: 'w',
      updatedAt: 0,
    });
  });

  it.each([
    ['not JSON', '{'],
    ['an array', '[]'],
    ['null', 'null'],
    ['an unknown severity', JSON.stringify({ severity: 'fatal', since: 1, writer: 'w' })],
    ['no writer', JSON.stringify({ severity: 'warning', since: 1 })],
    ['a string since', JSON.stringify({ severity: 'warning', since: '1', writer: 'w' })],
  ])('skips %s', (_, text) => {
    expect(parseStoredState(text)).toBeUndefined();
  });
});
