/** coordination.k8s.io/v1 LeaseSpec, the fields leader election uses. */
export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

/** When we last saw the lease record change, on our own clock. */
export interface Observation {
  record: string;
  atMs: number;
}

export type LeaseAction = 'create' | 'renew' | 'acquire' | 'wait';

/**
 * client-go's tryAcquireOrRenew decision. Expiry is judged on the local clock from the moment this
 * candidate saw the record change, never from renewTime, so clock skew between replicas cannot make
 * two of them lead. `lease` undefined means there is no Lease object yet.
 */
export function decideLease(
  lease: { spec?: LeaseSpec; resourceVersion?: string } | undefined,
  identity: string,
  observed: Observation | undefined,
  nowMs: number,
): { action: LeaseAction; observed: Observation | undefined } {
  if (!lease) return { action: 'create', observed: undefined };
  const spec = lease.spec ?? {};
  const record = `${spec.holderIdentity ?? ''}|${spec.renewTime ?? ''}|${spec.leaseDurationSeconds ?? ''}`;
  const seen = observed?.record === record ? observed : { record, atMs: nowMs };
  if (spec.holderIdentity === identity) return { action: 'renew', observed: seen };
  if (!spec.holderIdentity) return { action: 'acquire', observed: seen };
  const expired = seen.atMs + (spec.leaseDurationSeconds ?? 0) * 1000 <= nowMs;
  return { action: expired ? 'acquire' : 'wait', observed: seen };
}

/** The spec to write for a create, acquire or renew by `identity`. */
export function nextLeaseSpec(
  current: LeaseSpec | undefined,
  identity: string,
  action: Exclude<LeaseAction, 'wait'>,
  leaseDurationSeconds: number,
  now: string,
): LeaseSpec {
  if (action === 'renew')
    return { ...current, holderIdentity: identity, leaseDurationSeconds, renewTime: now };
  const transitions = current?.leaseTransitions ?? 0;
  const changedHands = current?.holderIdentity !== undefined && current.holderIdentity !== identity;
  return {
    holderIdentity: identity,
    leaseDurationSeconds,
    acquireTime: now,
    renewTime: now,
    leaseTransitions: changedHands ? transitions + 1 : transitions,
  };
}

/** Giving the lease up on shutdown: no holder and a 1 s duration, so a standby takes over at its next try. */
export function releasedLeaseSpec(current: LeaseSpec | undefined, now: string): LeaseSpec {
  return {
    leaseTransitions: current?.leaseTransitions,
    leaseDurationSeconds: 1,
    acquireTime: now,
    renewTime: now,
  };
}
