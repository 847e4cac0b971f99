import type { KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Backoff } from '../../operator/framework/backoff.ts';
import { Informer } from '../../operator/framework/informer.ts';
import type { KubeClient } from '../../operator/framework/kubeClient.ts';
import { listerWatcher } from '../../operator/framework/reflector.ts';
import { restartApiServer } from './env.ts';
import { client, eventually, freshNamespace, silentLog } from './frameworkHelpers.ts';

const configMaps = { apiVersion: 'v1', kind: 'ConfigMap' };

describe('informer against the API server', () => {
  let c: KubeClient;
  let ns: string;
  let informer: Informer;
  const events: string[] = [];

  const cm = (
    name: string,
    data: Record<string, string> = {},
  ): KubernetesObject & { data: Record<string, string> } => ({
    ...configMaps,
    metadata: { name, namespace: ns, labels: { app: 'fw-test' } },
    data,
  });

  beforeAll(async () => {
    c = client();
    ns = await freshNamespace(c, 'fw-informer');
    await c.create(cm('before-start'));
    await c.create({ ...cm('unlabelled'), metadata: { name: 'unlabelled', namespace: ns } });
    const opts = { namespace: ns, labelSelector: 'app=fw-test' };
    informer = new Informer(
      listerWatcher(c, configMaps, opts),
      { ...configMaps, ...opts },
      silentLog,
      new Backoff(100, 1_000),
    );
    informer.addEventHandler({
      add: (o) => events.push(`add:${o.metadata?.name}`),
      update: (_old, o) => events.push(`update:${o.metadata?.name}`),
      delete: (o) => events.push(`delete:${o.metadata?.name}`),
    });
    informer.start();
    await informer.waitForSync();
  });

  afterAll(async () => {
    await informer?.stop();
    await c?.delete({ apiVersion: 'v1', kind: 'Namespace', name: ns });
  });

  it('lists matching objects, then sees adds, updates and deletes', async () => {
    expect(informer.hasSynced()).toBe(true);
    expect(events).toEqual(['add:before-start']);
    await c.create(cm('x', { a: '1' }));
    await eventually(() => expect(informer.get(`${ns}/x`)).toBeDefined());
    await c.replace({ ...(informer.get(`${ns}/x`) as object), data: { a: '2' } } as KubernetesObject);
    await eventually(() => expect((informer.get(`${ns}/x`) as { data: { a: string } }).data.a).toBe('2'));
    await c.delete({ ...configMaps, namespace: ns, name: 'x' });
    await eventually(() => expect(informer.get(`${ns}/x`)).toBeUndefined());
    expect(events).toEqual(['add:before-start', 'add:x', 'update:x', 'delete:x']);
  });

  it('survives an API server restart and catches up on what changed meanwhile', async () => {
    events.length = 0;
    await restartApiServer();
    await c.create(cm('after-restart'));
    await c.delete({ ...configMaps, namespace: ns, name: 'before-start' });
    await eventually(() => {
      expect(informer.get(`${ns}/after-restart`)).toBeDefined();
      expect(informer.get(`${ns}/before-start`)).toBeUndefined();
    }, 60_000);
    expect(events).toEqual(['add:after-restart', 'delete:before-start']);
  });

  it('after a stop, a restarted informer relists and reports deletions it missed', async () => {
    await informer.stop();
    events.length = 0;
    await c.delete({ ...configMaps, namespace: ns, name: 'after-restart' });
    await c.create(cm('while-stopped'));
    informer.start();
    await eventually(() => expect(events.toSorted()).toEqual(['add:while-stopped', 'delete:after-restart']));
  });
});
