import { describe, expect, it } from 'vitest';
import { PodIpAllocator } from './podIps.ts';

describe('PodIpAllocator', () => {
  it('starts at 127.0.1.1 and never hands out 127.0.0.1', () => {
    const a = new PodIpAllocator();
    expect(a.allocate()).toBe('127.0.1.1');
    expect(a.allocate()).toBe('127.0.1.2');
  });

  it.each([
    [0, '127.0.1.1'],
    [253, '127.0.1.254'],
    [254, '127.0.2.1'],
    [PodIpAllocator.capacity - 1, '127.0.254.254'],
  ])('index %i is %s', (index, ip) => {
    expect(PodIpAllocator.at(index)).toBe(ip);
    expect(PodIpAllocator.isPodIp(ip)).toBe(true);
  });

  it.each(['127.0.0.1', '127.0.0.5', '127.0.1.0', '127.0.1.255', '127.0.255.1', '10.0.1.1', 'x'])(
    '%s is not a pod IP',
    (ip) => expect(PodIpAllocator.isPodIp(ip)).toBe(false),
  );

  it('reuses a released address only after the others (round-robin)', () => {
    const a = new PodIpAllocator();
    const first = a.allocate();
    a.release(first);
    expect(a.allocate()).toBe('127.0.1.2');
    expect(a.size).toBe(1);
  });

  it('claims a pod IP once and skips it when allocating', () => {
    const a = new PodIpAllocator();
    expect(a.claim('127.0.1.1')).toBe(true);
    expect(a.claim('127.0.1.1')).toBe(false);
    expect(a.claim('127.0.0.1')).toBe(false);
    expect(a.allocate()).toBe('127.0.1.2');
  });

  it('throws when exhausted and recovers after a release', () => {
    const a = new PodIpAllocator();
    for (let i = 0; i < PodIpAllocator.capacity; i++) a.allocate();
    expect(() => a.allocate()).toThrow(/exhausted/);
    a.release('127.0.7.7');
    expect(a.allocate()).toBe('127.0.7.7');
  });
});
