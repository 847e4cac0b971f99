import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { Fence } from './fence.ts';
import { ApiError, type KubeClient, type RequestOptions } from './kubeClient.ts';
import { LeaderElector } from './leaderElection.ts';
import { createMetrics } from './metrics.ts';

const log = pino({ level: 'silent' });

/** One Lease in memory, with resourceVersion checks and an outage switch. */
function leaseServer() {
  let lease: { metadata: { resourceVersion: string }; spec: Record<string, unknown> } | undefined;
  let rv = 0;
  const state = { down: false, writes: 0 };
  /** Another party writes the Lease (an admin, or a replica that wrongly saw it expire). */
  const takeOver = (identity: string) => {
    lease = {
      metadata: { resourceVersion: String(++rv) },
      spec: { ...lease?.spec, holderIdentity: identity, leaseDurationSeconds: 60, renewTime: 'now' },
    };
  };
  const client = {
    request: async (o: RequestOptions) => {
      if (state.down) throw new Error('ECONNREFUSED');
      if ((o.method ?? 'GET') === 'GET') {
        if (!lease) throw new ApiError(404, 'NotFound', 'no lease');
        return structuredClone(lease);
      }
      const body = o.body as typeof lease & object;
      if (o.method === 'PUT' && body.metadata.resourceVersion !== lease?.metadata.resourceVersion) {
        throw new ApiError(409, 'Conflict', 'stale');
      }
      if (o.method === 'POST' && lease) throw new ApiError(409, 'AlreadyExists', 'exists');
      state.writes++;
      lease = { ...body, metadata: { ...body.metadata, resourceVersion: String(++rv) } };
      return structuredClone(lease);
    },
  } as unknown as KubeClient;
  return { client, state, takeOver, holder: () => lease?.spec.holderIdentity };
}

const fast = {
  namespace: 'ns',
  name: 'l',
  leaseDurationSeconds: 0.6,
  renewDeadlineSeconds: 0.4,
  retryPeriodSeconds: 0.05,
};

function elector(server: ReturnType<typeof leaseServer>, identity: string, metrics = createMetrics()) {
  const events: string[] = [];
  const fences: Fence[] = [];
  const e = new LeaderElector(
    server.client,
    { ...fast, identity },
    {
      onStartedLeading: (fence) => {
        fences.push(fence);
        events.push('started');
      },
      onStoppedLeading: () => void events.push('stopped'),
    },
    log,
    metrics,
  );
  return { e, events, fences, metrics };
}

describe('LeaderElector', () => {
  it('creates the lease, leads, renews, and releases on stop', async () => {
    const s = leaseServer();
    const { e, events, metrics } = elector(s, 'a');
    const abort = new AbortController();
    const running = e.run(abort.signal);
    await vi.waitFor(() => expect(e.isLeader()).toBe(true));
    expect(await metrics.registry.metrics()).toContain('leader_election_master_status{name="l"} 1');
    const writes = s.state.writes;
    await new Promise((r) => setTimeout(r, 200));
    expect(s.state.writes).toBeGreaterThan(writes); // renewing
    abort.abort();
    await running;
    expect(events).toEqual(['started', 'stopped']);
    expect(s.holder()).toBeUndefined();
    expect(await metrics.registry.metrics()).toContain('leader_election_master_status{name="l"} 0');
  });

  it('steps down when it cannot renew within the renew deadline, and leads again once the API is back', async () => {
    const s = leaseServer();
    const { e, events } = elector(s, 'a');
    const abort = new AbortController();
    const running = e.run(abort.signal);
    await vi.waitFor(() => expect(e.isLeader()).toBe(true));
    s.state.down = true;
    const t0 = performance.now();
    await vi.waitFor(() => expect(e.isLeader()).toBe(false), 2_000);
    expect(performance.now() - t0).toBeLessThan(600); // before the lease (0.6 s) could pass to anyone else
    expect(events).toEqual(['started', 'stopped']);
    s.state.down = false;
    await vi.waitFor(() => expect(e.isLeader()).toBe(true), 2_000); // still the holder: renews at once
    abort.abort();
    await running;
    expect(events).toEqual(['started', 'stopped', 'started', 'stopped']);
  });

  it('steps down at the first renewal that finds another holder, revoking the term fence', async () => {
    const s = leaseServer();
    const { e, events, fences } = elector(s, 'a');
    const abort = new AbortController();
    const running = e.run(abort.signal);
    await vi.waitFor(() => expect(e.isLeader()).toBe(true));
    const fence = fences[0]!;
    expect(() => fence.check()).not.toThrow();
    s.takeOver('intruder');
    const t0 = performance.now();
    await vi.waitFor(() => expect(fence.signal.aborted).toBe(true), 2_000);
    // One retry period (50 ms here), not the renew deadline (400 ms).
    expect(performance.now() - t0).toBeLessThan(300);
    expect(() => fence.check()).toThrow('lost the lease');
    expect(e.isLeader()).toBe(false);
    expect(events).toEqual(['started', 'stopped']);
    await new Promise((r) => setTimeout(r, 200));
    expect(e.isLeader()).toBe(false); // the intruder's 60 s lease is waited out
    abort.abort();
    await running;
    expect(s.holder()).toBe('intruder'); // not ours to release
  });

  it("the fence refuses writes once the renew deadline passed, even before the elector's loop notices", async () => {
    const s = leaseServer();
    const { e, fences } = elector(s, 'a');
    const abort = new AbortController();
    const running = e.run(abort.signal);
    await vi.waitFor(() => expect(e.isLeader()).toBe(true));
    s.state.down = true;
    // Block the event loop past the renew deadline (0.4 s): the elector's timers cannot run.
    const until = performance.now() + 450;
    while (performance.now() < until);
    expect(() => fences[0]!.check()).toThrow('renew deadline');
    abort.abort();
    await running;
  });

  it('only one of two candidates leads; the other takes over after a release', async () => {
    const s = leaseServer();
    const a = elector(s, 'a');
    const b = elector(s, 'b');
    const abortA = new AbortController();
    const abortB = new AbortController();
    const runningA = a.e.run(abortA.signal);
    await vi.waitFor(() => expect(a.e.isLeader()).toBe(true));
    const runningB = b.e.run(abortB.signal);
    await new Promise((r) => setTimeout(r, 300));
    expect(b.e.isLeader()).toBe(false);
    abortA.abort();
    await runningA;
    await vi.waitFor(() => expect(b.e.isLeader()).toBe(true), 2_000);
    expect(s.holder()).toBe('b');
    abortB.abort();
    await runningB;
  });

  it('keeps campaigning through callback failures', async () => {
    const s = leaseServer();
    let starts = 0;
    const e = new LeaderElector(
      s.client,
      { ...fast, identity: 'a' },
      {
        onStartedLeading: () => {
          starts++;
          throw new Error('boom');
        },
        onStoppedLeading: () => undefined,
      },
      log,
    );
    const abort = new AbortController();
    const running = e.run(abort.signal);
    await vi.waitFor(() => expect(starts).toBeGreaterThanOrEqual(2));
    abort.abort();
    await running;
  });
});
