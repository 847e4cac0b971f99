import type { KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Controller } from '../../operator/framework/controller.ts';
import type { KubeClient } from '../../operator/framework/kubeClient.ts';
import { microTime } from '../../operator/framework/microTime.ts';
import { Operator } from '../../operator/framework/operator.ts';
import { kubeConfig } from './env.ts';
import { client, eventually, freshNamespace, silentLog } from './frameworkHelpers.ts';

type Lease = KubernetesObject & { spec?: { holderIdentity?: string; leaseTransitions?: number } };
const LEASE = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' };

describe('leader election between two Operators', () => {
  let c: KubeClient;
  let ns: string;
  const running: Operator[] = [];

  beforeAll(async () => {
    c = client();
    ns = await freshNamespace(c, 'fw-leader');
    await c.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'watched', namespace: ns } });
  });

  afterAll(async () => {
    await Promise.all(running.map((o) => o.stop()));
    await c?.delete({ apiVersion: 'v1', kind: 'Namespace', name: ns });
  });

  function replica(identity: string, lease: string, reconciled: string[]): Operator {
    const controller = new Controller(`cm-${identity}`, {
      reconcile: async ({ request }) => void reconciled.push(request.key),
    }).for({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns });
    const op = new Operator({
      kubeConfig: kubeConfig(),
      identity,
      leaderElection: { namespace: ns, name: lease },
      handleSignals: false,
      logger: silentLog,
    }).register(controller);
    running.push(op);
    return op;
  }

  const holder = async (lease: string) =>
    (await c.get<Lease>({ ...LEASE, namespace: ns, name: lease }))?.spec?.holderIdentity;

  it('one leads and reconciles, the other stands by; stopping the leader hands over in < 15 s', async () => {
    const doneA: string[] = [];
    const doneB: string[] = [];
    const a = replica('replica-a', 'handover', doneA);
    await a.start();
    await eventually(() => expect(a.isRunning()).toBe(true));
    const b = replica('replica-b', 'handover', doneB);
    await b.start();
    await eventually(() => expect(doneA).toContain(`${ns}/watched`));
    await new Promise((r) => setTimeout(r, 3_000)); // several retry periods: b must stay standby
    expect(b.isLeader()).toBe(false);
    expect(b.notReadyReason()).toBeUndefined(); // a standby is ready
    expect(doneB).toEqual([]);
    expect(await holder('handover')).toBe('replica-a');

    const t0 = Date.now();
    await a.stop();
    expect(await holder('handover')).toBeUndefined(); // released
    await eventually(() => expect(b.isRunning()).toBe(true), 15_000, 50);
    const failoverMs = Date.now() - t0;
    expect(failoverMs).toBeLessThan(15_000);
    await eventually(() => expect(doneB).toContain(`${ns}/watched`));
    const lease = await c.get<Lease>({ ...LEASE, namespace: ns, name: 'handover' });
    expect(lease?.spec).toMatchObject({ holderIdentity: 'replica-b', leaseTransitions: 0 });
    await b.stop();
  });

  it('takes over a lease whose holder died (never renewed) once it expires', async () => {
    await c.create({
      ...LEASE,
      metadata: { name: 'orphaned', namespace: ns },
      spec: {
        holderIdentity: 'crashed',
        leaseDurationSeconds: 15,
        renewTime: microTime(new Date()),
        leaseTransitions: 0,
      },
    });
    const done: string[] = [];
    const op = replica('survivor', 'orphaned', done);
    const t0 = Date.now();
    await op.start();
    await new Promise((r) => setTimeout(r, 10_000));
    expect(op.isLeader()).toBe(false);
    await eventually(() => expect(op.isRunning()).toBe(true), 15_000, 100);
    const tookMs = Date.now() - t0;
    expect(tookMs).toBeGreaterThanOrEqual(15_000);
    expect(tookMs).toBeLessThan(15_000 + 2 * 2_400 + 2_000);
    const lease = await c.get<Lease>({ ...LEASE, namespace: ns, name: 'orphaned' });
    expect(lease?.spec).toMatchObject({ holderIdentity: 'survivor', leaseTransitions: 1 });
    await op.stop();
  });
});
