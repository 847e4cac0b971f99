import type { KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, FIELD_MANAGER } from '../../operator/framework/apply.ts';
import { setCondition } from '../../operator/framework/conditions.ts';
import { EventRecorder } from '../../operator/framework/events.ts';
import { addFinalizer, reconcileFinalizer, removeFinalizer } from '../../operator/framework/finalizers.ts';
import type { KubeClient } from '../../operator/framework/kubeClient.ts';
import { controllerReference } from '../../operator/framework/ownerMapping.ts';
import { updateStatus } from '../../operator/framework/status.ts';
import {
  client,
  ensureWidgetCrd,
  eventually,
  freshNamespace,
  silentLog,
  WIDGET,
} from './frameworkHelpers.ts';

type WithStatus = KubernetesObject & { status?: Record<string, unknown> };

describe('writes against the API server', () => {
  let c: KubeClient;
  let ns: string;

  beforeAll(async () => {
    c = client();
    ns = await freshNamespace(c, 'fw-apply');
    await ensureWidgetCrd(c);
  });

  afterAll(async () => {
    await c?.delete({ apiVersion: 'v1', kind: 'Namespace', name: ns });
  });

  it('server-side apply creates, and re-applying the same intent leaves the resourceVersion alone', async () => {
    const intent: KubernetesObject & { data: object } = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'ssa', namespace: ns },
      data: { a: '1' },
    };
    const created = await apply(c, intent);
    expect(created.metadata?.managedFields?.map((f) => f.manager)).toEqual([FIELD_MANAGER]);
    const again = await apply(c, intent);
    expect(again.metadata?.resourceVersion).toBe(created.metadata?.resourceVersion);
    const changed = await apply(c, { ...intent, data: { b: '2' } });
    expect(changed.metadata?.resourceVersion).not.toBe(created.metadata?.resourceVersion);
    expect((changed as { data: object }).data).toEqual({ b: '2' }); // a is ours and no longer applied: removed
  });

  it('forces conflicts with another manager on the fields we own', async () => {
    const name = 'conflict';
    await c.patch(
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name },
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name, namespace: ns },
        data: { a: 'theirs', keep: 'x' },
      },
      'application/apply-patch+yaml',
      { query: { fieldManager: 'someone-else' } },
    );
    const ours = await apply(c, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: ns },
      data: { a: 'ours' },
    });
    expect((ours as { data: object }).data).toEqual({ a: 'ours', keep: 'x' });
  });

  it('writes status only when it changed, always with observedGeneration', async () => {
    const w = await c.create<WithStatus>({
      ...WIDGET,
      metadata: { name: 'w1', namespace: ns },
      spec: { size: 1 },
    } as WithStatus);
    const now = new Date();
    const status = {
      conditions: setCondition([], { type: 'Ready', status: 'True', reason: 'Ok', message: '' }, now),
      replicas: 1,
    };
    expect(await updateStatus(c, w, status)).toBe(true);
    const read = (await c.get<WithStatus>({ ...WIDGET, namespace: ns, name: 'w1' }))!;
    expect(read.status).toEqual({ ...status, observedGeneration: 1 });

    const later = new Date(now.getTime() + 60_000);
    const same = {
      conditions: setCondition(
        read.status!.conditions as never,
        { type: 'Ready', status: 'True', reason: 'Ok', message: '' },
        later,
      ),
      replicas: 1,
    };
    expect(await updateStatus(c, read, same)).toBe(false);
    const unchanged = (await c.get<WithStatus>({ ...WIDGET, namespace: ns, name: 'w1' }))!;
    expect(unchanged.metadata?.resourceVersion).toBe(read.metadata?.resourceVersion);

    expect(await updateStatus(c, unchanged, { ...same, replicas: 2 })).toBe(true);
    const updated = (await c.get<WithStatus>({ ...WIDGET, namespace: ns, name: 'w1' }))!;
    expect(updated.status?.replicas).toBe(2);
    expect(updated.metadata?.generation).toBe(1); // status writes never touch spec
  });

  it('adds and removes a finalizer without disturbing another one', async () => {
    const cm = await c.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'fin', namespace: ns, finalizers: ['other.example.com/keep'] },
    });
    const stale = structuredClone(cm);
    await c.patch(
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'fin' },
      { metadata: { labels: { touched: 'yes' } } },
      'application/merge-patch+json',
    );
    const added = await addFinalizer(c, stale, 'prognos.dev/cleanup'); // stale: 409, re-read, retry
    expect(added?.metadata?.finalizers).toEqual(['other.example.com/keep', 'prognos.dev/cleanup']);
    await removeFinalizer(c, added!, 'prognos.dev/cleanup');
    const after = await c.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'fin' });
    expect(after?.metadata?.finalizers).toEqual(['other.example.com/keep']);
    expect(after?.metadata?.labels).toEqual({ touched: 'yes' });
  });

  it('runs cleanup before the object goes away', async () => {
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'fin-flow' };
    const cm = await c.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'fin-flow', namespace: ns },
    });
    const cleaned: string[] = [];
    const cleanup = async (o: KubernetesObject) => void cleaned.push(o.metadata!.name!);
    expect((await reconcileFinalizer(c, cm, 'prognos.dev/cleanup', cleanup)).deleting).toBe(false);
    await c.delete(ref);
    const deleting = (await c.get(ref))!;
    expect(deleting.metadata?.deletionTimestamp).toBeDefined();
    expect(await reconcileFinalizer(c, deleting, 'prognos.dev/cleanup', cleanup)).toEqual({ deleting: true });
    expect(cleaned).toEqual(['fin-flow']);
    await eventually(async () => expect(await c.get(ref)).toBeUndefined());
  });

  // The owner is a ConfigMap: the garbage collector discovers a new CRD only every 30 s.
  it('owner references let the garbage collector remove children', async () => {
    const owner = await c.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'owner', namespace: ns },
    });
    await apply(c, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'child', namespace: ns, ownerReferences: [controllerReference(owner)] },
    });
    await c.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'owner' });
    await eventually(
      async () =>
        expect(
          await c.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'child' }),
        ).toBeUndefined(),
      60_000,
      250,
    );
  });

  it('aggregates repeated events into one Event with a series count', async () => {
    const w = await c.create({ ...WIDGET, metadata: { name: 'evented', namespace: ns } });
    const rec = new EventRecorder(c, {
      controller: 'prognos.dev/operator',
      instance: 'test',
      log: silentLog,
    });
    const e = { type: 'Warning', reason: 'FleetNotFound', message: 'no fleet "x"' } as const;
    await rec.emit(w, e);
    await rec.emit(w, e);
    await rec.emit(w, e);
    const events = await c.list<
      KubernetesObject & { reason: string; series?: { count: number }; regarding: { name: string } }
    >(
      { apiVersion: 'events.k8s.io/v1', kind: 'Event' },
      { namespace: ns, fieldSelector: 'regarding.name=evented' },
    );
    expect(events.items).toHaveLength(1);
    expect(events.items[0]).toMatchObject({
      reason: 'FleetNotFound',
      series: { count: 3 },
      regarding: { name: 'evented' },
    });
  });
});
