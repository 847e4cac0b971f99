import { describe, expect, it } from 'vitest';
import { consumerName, ownedPartitions, ownerOf } from './consumers.ts';

const members = (n: number) => Array.from({ length: n }, (_, i) => `pump-failure-7d9f-${i}_1`);

describe('partition ownership by rendezvous hashing', () => {
  it('gives every partition exactly one owner, the same whoever computes it', () => {
    const live = members(3);
    const shares = live.map((m) => ownedPartitions(m, live, 16));
    expect(shares.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 16 }, (_, p) => p));
    for (let p = 0; p < 16; p++) expect(ownerOf(p, [...live].reverse())).toBe(ownerOf(p, live));
  });

  it('spreads partitions over the members', () => {
    const live = members(4);
    for (const m of live) expect(ownedPartitions(m, live, 64).length).toBeGreaterThanOrEqual(8);
  });

  it('moves only what a joining or leaving member gains or had', () => {
    const three = members(3);
    const four = members(4);
    for (let p = 0; p < 64; p++) {
      const before = ownerOf(p, three);
      const after = ownerOf(p, four);
      if (after !== before) expect(after).toBe(four[3]);
    }
    const gone = three[1]!;
    const two = three.filter((m) => m !== gone);
    for (let p = 0; p < 64; p++)
      if (ownerOf(p, three) !== gone) expect(ownerOf(p, two)).toBe(ownerOf(p, three));
  });

  it('a replica alone owns everything; one not yet listed counts itself in', () => {
    expect(ownedPartitions('solo', [], 4)).toEqual([0, 1, 2, 3]);
    expect(ownedPartitions('solo', ['solo'], 1)).toEqual([0]);
  });

  it('names an unpartitioned consumer as before partitions existed', () => {
    expect(consumerName('pump-failure', 'stable', 0, 1)).toBe('prognos-pump-failure-stable');
    expect(consumerName('pump-failure', 'stable', 7, 16)).toBe('prognos-pump-failure-stable-p7');
  });
});
