import { describe, expect, it } from 'vitest';
import {
  bucketOf,
  canaryPartitionCount,
  parseSplit,
  rolePartitions,
  shouldHandle,
  type Split,
} from './split.ts';

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
    // A promotion ends with the split naming the new version as stable: its canary pods let go.
    ['canary pod after promotion', { stable: { version: 'v2' } }, 'v2', 'canary', high, false],
    [
      'stable pod already on the new version while the canary holds 100%',
      { stable: { version: 'v1' }, canary: { version: 'v2', weight: 100 } },
      'v2',
      'stable',
      high,
      false,
    ],
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

  it.each([
    ['no split: stable all', null, 'stable', [0, 1, 2, 3]],
    ['no split: canary none', null, 'canary', []],
    [
      'bucket split: stable all',
      { stable: { version: 'v1' }, canary: { version: 'v2', weight: 10 } },
      'stable',
      [0, 1, 2, 3],
    ],
    [
      'partition split: canary first',
      { stable: { version: 'v1' }, canary: { version: 'v2', weight: 50, partitions: 2 } },
      'canary',
      [0, 1],
    ],
    [
      'partition split: stable rest',
      { stable: { version: 'v1' }, canary: { version: 'v2', weight: 50, partitions: 2 } },
      'stable',
      [2, 3],
    ],
    [
      'canary at 100%',
      { stable: { version: 'v1' }, canary: { version: 'v2', weight: 100, partitions: 4 } },
      'stable',
      [],
    ],
    ['shadow: its own consumers, all', null, 'shadow', [0, 1, 2, 3]],
  ] as const)('rolePartitions: %s', (_name, split, role, want) => {
    expect(rolePartitions(split as Split | null, role, 4)).toEqual(want);
  });

  it.each([
    [0, 16, 0],
    [10, 16, 2],
    [50, 16, 8],
    [99, 16, 15],
    [100, 16, 16],
    [1, 16, 1],
    [10, 2, 1],
    [90, 2, 1],
  ])('canaryPartitionCount(%i%%, %i) = %i', (weight, partitions, want) => {
    expect(canaryPartitionCount(weight, partitions)).toBe(want);
  });

  it('a partition split lets each role handle what it receives', () => {
    const s: Split = { stable: { version: 'v1' }, canary: { version: 'v2', weight: 10, partitions: 2 } };
    expect(shouldHandle(s, 'v1', 'stable', low)).toBe(true);
    expect(shouldHandle(s, 'v2', 'canary', high)).toBe(true);
  });

  it('rejects a bad partition count', () => {
    expect(() =>
      parseSplit({ stable: { version: 'v1' }, canary: { version: 'v2', weight: 10, partitions: -1 } }),
    ).toThrow(/partitions/);
    expect(
      parseSplit({ stable: { version: 'v1' }, canary: { version: 'v2', weight: 10, partitions: 3 } }).canary,
    ).toEqual({
      version: 'v2',
      weight: 10,
      partitions: 3,
    });
  });
});
