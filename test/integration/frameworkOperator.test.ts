import type { KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply } from '../../operator/framework/apply.ts';
import { setCondition, type Condition } from '../../operator/framework/conditions.ts';
import { Controller } from '../../operator/framework/controller.ts';
import type { KubeClient } from '../../operator/framework/kubeClient.ts';
import { Operator } from '../../operator/framework/operator.ts';
import { controllerReference } from '../../operator/framework/ownerMapping.ts';
import { reconcileFinalizer } from '../../operator/framework/finalizers.ts';
import { updateStatus } from '../../operator/framework/status.ts';
import { kubeConfig, restartApiServer } from './env.ts';
import {
  client,
  ensureWidgetCrd,
  eventually,
  freshNamespace,
  silentLog,
  WIDGET,
} from './frameworkHelpers.ts';

type Widget = KubernetesObject & {
  spec?: { size?: number };
  status?: { conditions?: Condition[]; size?: number };
};
const CM = { apiVersion: 'v1', kind: 'ConfigMap' };

describe('an Operator running a controller', () => {
  let c: KubeClient;
  let ns: string;
  let operator: Operator;
  const reconciled: string[] = [];
  const cleanedUp: string[] = [];

  beforeAll(async () => {
    c = client();
    ns = await freshNamespace(c, 'fw-operator');
    await ensureWidgetCrd(c);
    const widgets = new Controller<Widget>('widget', {
      reconcile: async ({ object, client: api }) => {
        if (!object) return;
        reconciled.push(object.metadata!.name!);
        const live = await reconcileFinalizer(api, object, 'fwtest.prognos.dev/cleanup', async (o) => {
          cleanedUp.push(o.metadata!.name!);
        });
        if (live.deleting) return;
        await apply(api, {
          ...CM,
          metadata: {
            name: `${object.metadata!.name}-cfg`,
            namespace: ns,
            ownerReferences: [controllerReference(object)],
          },
          data: { size: String(object.spec?.size ?? 0) },
        });
        const ready = { type: 'Ready', status: 'True', reason: 'Applied', message: '' } as const;
        await updateStatus(api, object, {
          size: object.spec?.size ?? 0,
          conditions: setCondition(object.status?.conditions, ready, new Date()),
        });
      },
    })
      .for({ ...WIDGET, namespace: ns })
      .owns({ ...CM, namespace: ns });
    operator = new Operator({
      kubeConfig: kubeConfig(),
      leaderElection: { namespace: ns, name: 'fw-operator' },
      health: { port: 0, host: '127.0.0.1' },
      handleSignals: false,
      logger: silentLog,
    }).register(widgets);
    await operator.start();
    await eventually(() => expect(operator.isRunning()).toBe(true));
  });

  afterAll(async () => {
    await operator?.stop();
    await c?.delete({ apiVersion: 'v1', kind: 'Namespace', name: ns });
  });

  const get = (kind: typeof CM, name: string) => c.get<Widget>({ ...kind, namespace: ns, name });

  it('reconciles a new object: children applied, status with observedGeneration', async () => {
    await c.create({ ...WIDGET, metadata: { name: 'w', namespace: ns }, spec: { size: 3 } });
    await eventually(async () => {
      const w = await get(WIDGET, 'w');
      expect(w?.status).toMatchObject({
        size: 3,
        observedGeneration: 1,
        conditions: [{ type: 'Ready', status: 'True' }],
      });
      expect(((await get(CM, 'w-cfg')) as { data?: object })?.data).toEqual({ size: '3' });
    });
  });

  it('puts a deleted owned object back (owned deletion enqueues the owner)', async () => {
    await c.delete({ ...CM, namespace: ns, name: 'w-cfg' });
    await eventually(async () => expect(await get(CM, 'w-cfg')).toBeDefined());
  });

  it('is quiet at steady state: no writes, so no further reconciles', async () => {
    await new Promise((r) => setTimeout(r, 1_500));
    const before = (await get(WIDGET, 'w'))!.metadata!.resourceVersion;
    const count = reconciled.length;
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await get(WIDGET, 'w'))!.metadata!.resourceVersion).toBe(before);
    expect(reconciled.length).toBe(count);
  });

  it('follows a spec change', async () => {
    await c.patch(
      { ...WIDGET, namespace: ns, name: 'w' },
      { spec: { size: 5 } },
      'application/merge-patch+json',
    );
    await eventually(async () => {
      expect((await get(WIDGET, 'w'))?.status).toMatchObject({ size: 5, observedGeneration: 2 });
      expect(((await get(CM, 'w-cfg')) as { data?: object })?.data).toEqual({ size: '5' });
    });
  });

  it('keeps leading and reconciling across an API server restart', async () => {
    await restartApiServer();
    await c.patch(
      { ...WIDGET, namespace: ns, name: 'w' },
      { spec: { size: 7 } },
      'application/merge-patch+json',
    );
    await eventually(async () => {
      expect((await get(WIDGET, 'w'))?.status).toMatchObject({ size: 7, observedGeneration: 3 });
    }, 60_000);
    expect(operator.isLeader()).toBe(true);
  });

  it('runs the finalizer cleanup on deletion, then lets the object go', async () => {
    await c.delete({ ...WIDGET, namespace: ns, name: 'w' });
    await eventually(async () => expect(await get(WIDGET, 'w')).toBeUndefined());
    expect(cleanedUp).toEqual(['w']);
  });

  it('serves readiness and controller-runtime metrics', async () => {
    const base = `http://127.0.0.1:${operator.healthPort}`;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/controller_runtime_reconcile_total\{controller="widget",result="success"\} \d+/);
    expect(metrics).toMatch(/workqueue_adds_total\{name="widget"\} \d+/);
  });
});
