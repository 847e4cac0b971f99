import { pino } from 'pino';
import { KubeClient } from '../../operator/framework/kubeClient.ts';
import { kubeConfig } from './env.ts';

export const silentLog = pino({ level: process.env.PROGNOS_TEST_LOG ?? 'silent' });

export function client(): KubeClient {
  return new KubeClient(kubeConfig());
}

/** A fresh namespace per test file, so files never see each other's objects. */
export async function freshNamespace(c: KubeClient, prefix: string): Promise<string> {
  const name = `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
  await c.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  return name;
}

/** Polls `check` until it returns without throwing, or fails with its last error after `timeoutMs`. */
export async function eventually<T>(
  check: () => T | Promise<T>,
  timeoutMs = 20_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}

export const WIDGET = { apiVersion: 'fwtest.prognos.dev/v1', kind: 'Widget' };

/** A minimal CRD with a status subresource, owned by these tests (not the project's API). */
export async function ensureWidgetCrd(c: KubeClient): Promise<void> {
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'widgets.fwtest.prognos.dev' },
    spec: {
      group: 'fwtest.prognos.dev',
      scope: 'Namespaced',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: { type: 'object', properties: { size: { type: 'integer' } } },
                status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
              },
            },
          },
        },
      ],
    },
  };
  try {
    await c.create(crd);
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 409) throw err;
  }
  await eventually(
    async () => {
      await c.resource(WIDGET);
      await c.list(WIDGET);
    },
    30_000,
    250,
  );
}
