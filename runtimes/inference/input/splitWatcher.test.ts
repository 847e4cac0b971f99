import { describe, expect, it } from 'vitest';
import { decodeSplitEntry } from './splitWatcher.ts';

const entry = (operation: 'PUT' | 'DEL' | 'PURGE', text = '') => ({ operation, string: () => text });
const parse = (text: string): { weight: number } => {
  const w = (JSON.parse(text) as { weight?: unknown }).weight;
  if (typeof w !== 'number') throw new Error('weight must be a number');
  return { weight: w };
};

describe('decodeSplitEntry', () => {
  it('parses a stored split', () => {
    expect(decodeSplitEntry(entry('PUT', '{"weight":10}'), parse)).toEqual({ weight: 10 });
  });
  it.each(['DEL', 'PURGE'] as const)('%s means no split', (op) => {
    expect(decodeSplitEntry(entry(op), parse)).toBeNull();
  });
  it.each([
    ['not JSON', '{weight'],
    ['invalid split', '{"weight":"x"}'],
  ])('%s becomes an Error, not a throw', (_name, text) => {
    expect(decodeSplitEntry(entry('PUT', text), parse)).toBeInstanceOf(Error);
  });
});
