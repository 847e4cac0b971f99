import { describe, expect, it } from 'vitest';
import {
  decideLease,
  nextLeaseSpec,
  releasedLeaseSpec,
  type LeaseSpec,
  type Observation,
} from './leaseDecision.ts';

const held = (holderIdentity: string, renewTime = 't1'): { spec: LeaseSpec } => ({
  spec: { holderIdentity, renewTime, leaseDurationSeconds: 15 },
});
const seenAt = (lease: { spec: LeaseSpec }, atMs: number): Observation => ({
  record: `${lease.spec.holderIdentity}|${lease.spec.renewTime}|15`,
  atMs,
});

describe('decideLease', () => {
  const other = held('b');
  it.each([
    { name: 'no lease yet', lease: undefined, observed: undefined, now: 0, want: 'create' },
    { name: 'we hold it', lease: held('a'), observed: undefined, now: 0, want: 'renew' },
    { name: 'released (no holder)', lease: { spec: {} }, observed: undefined, now: 0, want: 'acquire' },
    {
      name: 'another holder, first seen now',
      lease: other,
      observed: undefined,
      now: 1_000_000,
      want: 'wait',
    },
    {
      name: 'another holder, unchanged for 14.9 s',
      lease: other,
      observed: seenAt(other, 0),
      now: 14_900,
      want: 'wait',
    },
    {
      name: 'another holder, unchanged for 15 s',
      lease: other,
      observed: seenAt(other, 0),
      now: 15_000,
      want: 'acquire',
    },
    {
      name: 'another holder renewed since we looked',
      lease: held('b', 't2'),
      observed: seenAt(other, 0),
      now: 20_000,
      want: 'wait',
    },
  ])('$name → $want', ({ lease, observed, now, want }) => {
    expect(decideLease(lease, 'a', observed, now).action).toBe(want);
  });

  it('keeps the first observation of an unchanged record, restarts it on a change', () => {
    const first = decideLease(other, 'a', undefined, 100).observed;
    expect(decideLease(other, 'a', first, 5_000).observed).toBe(first);
    expect(decideLease(held('b', 't2'), 'a', first, 5_000).observed?.atMs).toBe(5_000);
  });

  it('ignores the renewTime clock: a far-future renewTime from a skewed holder still expires', () => {
    const skewed = held('b', '2999-01-01T00:00:00.000000Z');
    const seen = decideLease(skewed, 'a', undefined, 0).observed;
    expect(decideLease(skewed, 'a', seen, 15_000).action).toBe('acquire');
  });
});

describe('nextLeaseSpec', () => {
  it('renews keeping acquireTime and transitions', () => {
    const cur = {
      holderIdentity: 'a',
      acquireTime: 't0',
      renewTime: 't1',
      leaseTransitions: 2,
      leaseDurationSeconds: 15,
    };
    expect(nextLeaseSpec(cur, 'a', 'renew', 15, 't5')).toEqual({ ...cur, renewTime: 't5' });
  });

  it('counts a transition when the lease changes hands, not when created or re-taken after release', () => {
    const from = (holderIdentity: string | undefined) => ({ holderIdentity, leaseTransitions: 2 });
    expect(nextLeaseSpec(undefined, 'a', 'create', 15, 't').leaseTransitions).toBe(0);
    expect(nextLeaseSpec(from('b'), 'a', 'acquire', 15, 't')).toEqual({
      holderIdentity: 'a',
      leaseDurationSeconds: 15,
      acquireTime: 't',
      renewTime: 't',
      leaseTransitions: 3,
    });
    expect(nextLeaseSpec(from(undefined), 'a', 'acquire', 15, 't').leaseTransitions).toBe(2);
  });

  it('releases with no holder and a 1 s duration', () => {
    expect(releasedLeaseSpec({ holderIdentity: 'a', leaseTransitions: 4 }, 't')).toEqual({
      leaseTransitions: 4,
      leaseDurationSeconds: 1,
      acquireTime: 't',
      renewTime: 't',
    });
  });
});
