import { describe, expect, it } from 'vitest';
import { socketAddresses } from './loopbackSockets.ts';
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

  it('starts where it is told and skips addresses other processes have bound', () => {
    const a = new PodIpAllocator(254, () => new Set(['127.0.2.1', '127.0.2.3']));
    expect(a.allocate()).toBe('127.0.2.2');
    expect(a.allocate()).toBe('127.0.2.4');
  });

  it('wraps around the end of the range', () => {
    const a = new PodIpAllocator(PodIpAllocator.capacity - 1);
    expect(a.allocate()).toBe('127.0.254.254');
    expect(a.allocate()).toBe('127.0.1.1');
  });
});

describe('socketAddresses', () => {
  it('decodes the local addresses of a /proc/net/tcp table', () => {
    const table = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0101007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1',
      '   1: 0100007F:1A0B 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 2 1',
      '',
    ].join('\n');
    expect([...socketAddresses(table)]).toEqual(['127.0.1.1', '127.0.0.1']);
  });
});
