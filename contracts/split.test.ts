import { describe, expect, it } from 'vitest';
import { bucketOf, parseSplit, shouldHandle, type Split } from './split.ts';

describe('rollout split', () => {
  it.each([
    ['', 0x811c9dc5 % 100],
    ['a', 0xe40c292c % 100], // FNV-1a 32 test vector
    ['foobar', 0xbf9cf968 % 100], // FNV-1a 32 test vector
  ])('hashes %j to its FNV-1a bucket', (id, bucket) => {
    expect(bucketOf(id)).toBe(bucket);
  });

  it('spreads machine ids roughly evenly', () => {
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 10_000; i++) counts[Math.floor(bucketOf(`pump-${i}`) / 10)]!++;
    for (const c of counts) expect(c).toBeGreaterThan(850);
  });

  const split: Split = {
    stable: { version: 'v1' },
    canary: { version: 'v2', weight: 30 },
    shadow: { version: 'v3' },
  };
  const low = Array.from({ length: 200 }, (_, i) => `m${i}`).find((id) => bucketOf(id) < 30)!;
  const high = Array.from({ length: 200 }, (_, i) => `m${i}`).find((id) => bucketOf(id) >= 30)!;

  it.each([
    ['stable, high bucket', split, 'v1', 'stable', high, true],
    ['stable, low bucket', split, 'v1', 'stable', low, false],
    ['canary, low bucket', split, 'v2', 'canary', low, true],
    ['canary, high bucket', split, 'v2', 'canary', high, false],
    ['shadow sees everything', split, 'v3', 'shadow', low, true],
    ['shadow of another version', split, 'v9', 'shadow', low, false],
    ['unknown version', split, 'v9', 'stable', high, false],
    ['no split yet: stable', undefined, 'v1', 'stable', low, true],
    ['no split yet: canary', undefined, 'v2', 'canary', low, false],
    ['no canary: stable takes all', { stable: { version: 'v1' } }, 'v1', 'stable', low, true],
    [
      'canary at 100',
      { stable: { version: 'v1' }, canary: { version: 'v2', weight: 100 } },
      'v1',
      'stable',
      high,
      false,
    ],
    ['promoted canary pod serves stable share', { stable: { version: 'v2' } }, 'v2', 'canary', high, true],
  ] as const)('%s', (_name, s, version, role, id, expected) => {
    expect(shouldHandle(s, version, role, id)).toBe(expected);
  });

  it('assigns every machine to exactly one of stable and canary (sticky)', () => {
    for (let i = 0; i < 1000; i++) {
      const id = `machine-${i}`;
      const handled = [shouldHandle(split, 'v1', 'stable', id), shouldHandle(split, 'v2', 'canary', id)];
      expect(handled.filter(Boolean)).toHaveLength(1);
      expect(shouldHandle(split, 'v2', 'canary', id)).toBe(shouldHandle(split, 'v2', 'canary', id));
    }
  });

  it('parses and validates split documents', () => {
    expect(parseSplit({ stable: { version: 'v1' }, canary: { version: 'v2', weight: 10 } })).toEqual({
      stable: { version: 'v1' },
      canary: { version: 'v2', weight: 10 },
    });
    expect(() => parseSplit({ canary: { version: 'v2', weight: 10 } })).toThrow(/stable/);
    expect(() => parseSplit({ stable: { version: 'v1' }, canary: { version: 'v2', weight: 120 } })).toThrow(
      /weight/,
    );
    expect(() => parseSplit('nope')).toThrow();
    expect(() => parseSplit(null)).toThrow();
  });
});
