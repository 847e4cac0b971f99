import { describe, expect, it } from 'vitest';
import {
  BucketRateLimiter,
  defaultControllerRateLimiter,
  ItemExponentialRateLimiter,
} from './rateLimiter.ts';

describe('ItemExponentialRateLimiter', () => {
  it('doubles per failure, per item, up to the cap, and forgets', () => {
    const rl = new ItemExponentialRateLimiter(5, 1_000);
    expect([1, 2, 3, 4, 5].map(() => rl.when('a'))).toEqual([5, 10, 20, 40, 80]);
    expect(rl.when('b')).toBe(5);
    expect(rl.numRequeues('a')).toBe(5);
    for (let i = 0; i < 2000; i++) rl.when('a');
    expect(rl.when('a')).toBe(1_000);
    rl.forget('a');
    expect(rl.numRequeues('a')).toBe(0);
    expect(rl.when('a')).toBe(5);
  });
});

describe('BucketRateLimiter', () => {
  it('lets a burst through, then spaces items at 1/qps, and refills over time', () => {
    let now = 0;
    const rl = new BucketRateLimiter(10, 3, () => now);
    expect([rl.when(), rl.when(), rl.when()]).toEqual([0, 0, 0]);
    expect(rl.when()).toBeCloseTo(100);
    expect(rl.when()).toBeCloseTo(200);
    now += 1_000; // +10 tokens repay the 2 borrowed and refill, capped at burst 3
    expect([rl.when(), rl.when(), rl.when()]).toEqual([0, 0, 0]);
    expect(rl.when()).toBeCloseTo(100);
  });
});

describe('defaultControllerRateLimiter', () => {
  it('takes the longer of per-item backoff and the global bucket', () => {
    let now = 0;
    const rl = defaultControllerRateLimiter(() => now);
    const delays = Array.from({ length: 100 }, (_, i) => rl.when(`k${i}`));
    expect(delays.every((d) => d === 5)).toBe(true);
    expect(rl.when('x')).toBeCloseTo(100);
    now = 10_000;
    expect(rl.when('k0')).toBe(10);
    rl.forget('k0');
    expect(rl.numRequeues('k0')).toBe(0);
  });
});
