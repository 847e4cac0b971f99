import { describe, expect, it } from 'vitest';
import { FencedError, isFenced, TermFence } from './fence.ts';

describe('TermFence', () => {
  it('lets writes through until its validity runs out, and each renewal extends it', () => {
    let now = 1_000;
    const fence = new TermFence(1_000 + 6_000, () => now);
    now = 6_999;
    expect(() => fence.check()).not.toThrow();
    now = 7_000;
    expect(() => fence.check()).toThrow(FencedError);
    fence.renewed(6_500, 6_000); // a renewal sent at 6.5 s succeeded
    expect(() => fence.check()).not.toThrow();
    now = 12_500;
    expect(() => fence.check()).toThrow(/renew deadline/);
    expect(fence.signal.aborted).toBe(false); // time alone refuses writes; the elector ends the term
  });

  it('a late answer to an older renewal does not move the validity back', () => {
    let now = 0;
    const fence = new TermFence(6_000, () => now);
    fence.renewed(4_000, 6_000);
    fence.renewed(2_000, 6_000);
    now = 9_999;
    expect(() => fence.check()).not.toThrow();
  });

  it('revoke aborts the signal with the reason, and every later check throws it', () => {
    const fence = new TermFence();
    expect(() => fence.check()).not.toThrow(); // no leader election: valid until revoked
    fence.revoke('this replica lost the lease');
    fence.revoke('a second reason is ignored');
    expect(fence.signal.aborted).toBe(true);
    expect(fence.signal.reason).toBeInstanceOf(FencedError);
    expect(() => fence.check()).toThrow('this replica lost the lease');
  });

  it('isFenced: a FencedError, or any failure once the term is over', () => {
    const fence = new TermFence();
    expect(isFenced(new FencedError('x'), fence)).toBe(true);
    expect(isFenced(new Error('ECONNRESET'), fence)).toBe(false);
    fence.revoke('lost');
    expect(isFenced(new Error('socket hang up'), fence)).toBe(true);
  });
});
