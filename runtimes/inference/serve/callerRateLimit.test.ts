import { describe, expect, it } from 'vitest';
import { CallerRateLimiter } from './callerRateLimit.ts';

/** Outcomes of `times` takes by `caller` at `at`. */
const takes = (limiter: CallerRateLimiter, caller: string, at: number, times: number): boolean[] =>
  Array.from({ length: times }, () => limiter.take(caller, at));

describe('CallerRateLimiter', () => {
  it('allows a burst at once, then refuses until tokens refill at the rate', () => {
    const limiter = new CallerRateLimiter({ requestsPerSecond: 10, burst: 3 });
    expect(takes(limiter, 'a', 0, 4)).toEqual([true, true, true, false]);
    expect(limiter.take('a', 50)).toBe(false); // half a token
    expect(limiter.take('a', 100)).toBe(true); // one token after 100 ms at 10/s
    expect(limiter.take('a', 100)).toBe(false);
    // A long pause refills to the burst, never beyond it.
    expect(takes(limiter, 'a', 60_000, 4)).toEqual([true, true, true, false]);
  });

  it('keeps callers apart', () => {
    const limiter = new CallerRateLimiter({ requestsPerSecond: 1, burst: 1 });
    expect(limiter.take('a', 0)).toBe(true);
    expect(limiter.take('a', 0)).toBe(false);
    expect(limiter.take('b', 0)).toBe(true);
  });

  it('supports rates below one per second', () => {
    const limiter = new CallerRateLimiter({ requestsPerSecond: 0.5, burst: 1 });
    expect(limiter.take('a', 0)).toBe(true);
    expect(limiter.take('a', 1_999)).toBe(false);
    expect(limiter.take('a', 2_000)).toBe(true);
  });

  it('holds a sustained rate: 100 calls over 10 s at 10/s with burst 1 all pass, one more in between fails', () => {
    const limiter = new CallerRateLimiter({ requestsPerSecond: 10, burst: 1 });
    const paced = Array.from({ length: 100 }, (_, i) => limiter.take('a', i * 100));
    expect(paced.every(Boolean)).toBe(true);
    expect(limiter.take('a', 9_950)).toBe(false);
  });

  it('bounds the callers it tracks, forgetting refilled ones first and keeping a limited caller limited', () => {
    const limiter = new CallerRateLimiter({ requestsPerSecond: 1, burst: 2 }, 3);
    expect(takes(limiter, 'hot', 0, 3)).toEqual([true, true, false]);
    limiter.take('idle-1', 0);
    limiter.take('idle-2', 0);
    expect(limiter.trackedCallers).toBe(3);
    // At 1.5 s the idle callers are full again (1 + 1.5, capped at 2), hot is not (1.5): a new
    // caller makes room by forgetting the idle ones only.
    expect(limiter.take('new', 1_500)).toBe(true);
    expect(limiter.trackedCallers).toBe(2);
    expect(takes(limiter, 'hot', 1_500, 2)).toEqual([true, false]);
  });

  it('drops the least recently used caller when none has refilled', () => {
    const limiter = new CallerRateLimiter({ requestsPerSecond: 0.001, burst: 1 }, 2);
    limiter.take('a', 0);
    limiter.take('b', 0);
    limiter.take('a', 1); // a is used again: b is now the least recently used
    expect(limiter.take('c', 2)).toBe(true);
    expect(limiter.trackedCallers).toBe(2);
    expect(limiter.take('a', 3)).toBe(false); // still tracked and empty
  });
});
