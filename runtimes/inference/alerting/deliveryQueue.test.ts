import { describe, expect, it } from 'vitest';
import { DeliveryQueue, retryDelayMs } from './deliveryQueue.ts';

describe('delivery queue', () => {
  it('coalesces per key: the newest state replaces a queued one in its place', () => {
    const q = new DeliveryQueue<string>(10);
    q.put('a', 'a1', 0);
    q.put('b', 'b1', 1);
    q.put('a', 'a2', 2);
    expect(q.take(10).map((e) => [e.key, e.item, e.queuedAt])).toEqual([
      ['a', 'a2', 0],
      ['b', 'b1', 1],
    ]);
    expect(q.size).toBe(0);
  });

  it('drops the oldest key past the bound and counts it', () => {
    const q = new DeliveryQueue<number>(2);
    expect(q.put('a', 1, 0)).toBe(0);
    expect(q.put('b', 2, 0)).toBe(0);
    expect(q.put('c', 3, 0)).toBe(1);
    expect(q.put('c', 4, 0)).toBe(0);
    expect(q.dropped).toBe(1);
    expect(q.take(5).map((e) => e.key)).toEqual(['b', 'c']);
  });

  it('puts a failed batch back first, newer states winning, within the bound', () => {
    const q = new DeliveryQueue<string>(3);
    q.put('a', 'a1', 0);
    q.put('b', 'b1', 0);
    const taken = q.take(2);
    q.put('b', 'b2', 1);
    q.put('c', 'c1', 1);
    q.put('d', 'd1', 1);
    expect(q.putBack(taken)).toBe(1);
    const rest = q.take(10).map((e) => `${e.key}=${e.item}`);
    // a is oldest and goes; b keeps its place with its newer state.
    expect(rest).toEqual(['b=b2', 'c=c1', 'd=d1']);
    expect(q.dropped).toBe(1);
  });

  it('take takes at most n, oldest first', () => {
    const q = new DeliveryQueue<number>(10);
    for (let i = 0; i < 5; i++) q.put(`k${i}`, i, i);
    expect(q.take(2).map((e) => e.item)).toEqual([0, 1]);
    expect(q.size).toBe(3);
  });
});

describe('retry backoff', () => {
  const retry = { initialMs: 500, maxMs: 30_000 };
  it.each([
    [1, 500],
    [2, 1000],
    [3, 2000],
    [7, 30_000],
    [100, 30_000],
  ])('attempt %i waits %i ms without jitter', (attempt, ms) => {
    expect(retryDelayMs(attempt, retry, () => 0)).toBe(ms);
  });
  it('jitter takes at most a fifth off', () => {
    expect(retryDelayMs(2, retry, () => 1)).toBe(800);
  });
});
