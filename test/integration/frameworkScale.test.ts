import type { KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply } from '../../operator/framework/apply.ts';
import { Controller } from '../../operator/framework/controller.ts';
import type { KubeClient } from '../../operator/framework/kubeClient.ts';
import { Operator } from '../../operator/framework/operator.ts';
import { controllerReference } from '../../operator/framework/ownerMapping.ts';
import { updateStatus } from '../../operator/framework/status.ts';
import { kubeConfig } from './env.ts';
import {
  client,
  ensureWidgetCrd,
  eventually,
  freshNamespace,
  silentLog,
  WIDGET,
} from './frameworkHelpers.ts';

type Widget = KubernetesObject & { status?: { observedGeneration?: number } };
const N = Number(process.env.FW_SCALE_N ?? 300);

/**
 * The runtime's own share of the convergence budget: N primaries, each applying one owned
 * ConfigMap and its status. The Prognos controllers add their work on top of this.
 */
describe(`convergence of ${N} objects`, () => {
  let c: KubeClient;
  let ns: string;
  let operator: Operator;

  beforeAll(async () => {
    c = client();
    ns = await freshNamespace(c, 'fw-scale');
    await ensureWidgetCrd(c);
    const widgets = new Controller<Widget>('scale', {
      reconcile: async ({ object, client: api }) => {
        if (!object) return;
        await apply(api, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: {
            name: `${object.metadata!.name}-cfg`,
            namespace: ns,
            ownerReferences: [controllerReference(object)],
          },
          data: { n: object.metadata!.name! },
        });
        await updateStatus(api, object, { ready: true });
      },
    })
      .for({ ...WIDGET, namespace: ns })
      .owns({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns });
    operator = new Operator({
      kubeConfig: kubeConfig(),
      leaderElection: false,
      handleSignals: false,
      logger: silentLog,
    });
    operator.register(widgets);
    await operator.start();
    await eventually(() => expect(operator.isRunning()).toBe(true));
  });

  afterAll(async () => {
    await operator?.stop();
    await c?.delete({ apiVersion: 'v1', kind: 'Namespace', name: ns });
  });

  it('converges, then stays idle', async () => {
    const t0 = performance.now();
    const names = Array.from({ length: N }, (_, i) => `w${i}`);
    for (let i = 0; i < N; i += 20) {
      await Promise.all(
        names.slice(i, i + 20).map((name) => c.create({ ...WIDGET, metadata: { name, namespace: ns } })),
      );
    }
    const created = performance.now();
    await eventually(
      async () => {
        const list = await c.list<Widget>(WIDGET, { namespace: ns });
        expect(list.items.filter((w) => w.status?.observedGeneration === 1)).toHaveLength(N);
      },
      120_000,
      500,
    );
    const converged = performance.now();
    const metrics = await operator.metrics.registry.getSingleMetricAsString(
      'controller_runtime_reconcile_total',
    );
    console.log(
      `${N} objects: created in ${((created - t0) / 1000).toFixed(1)} s, converged ${((converged - t0) / 1000).toFixed(1)} s after the first create\n${metrics}`,
    );
    const rvBefore = (await c.list(WIDGET, { namespace: ns })).resourceVersion;
    await new Promise((r) => setTimeout(r, 3_000));
    const list = await c.list<Widget>(WIDGET, { namespace: ns });
    expect(list.items.every((w) => Number(w.metadata?.resourceVersion) <= Number(rvBefore))).toBe(true);
  });
});
