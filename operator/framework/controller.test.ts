import type { KubernetesObject } from '@kubernetes/client-node';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { Controller, type Reconciler } from './controller.ts';
import { EventRecorder } from './events.ts';
import { TermFence } from './fence.ts';
import { gvkKey } from './gvk.ts';
import { InformerCache } from './informerCache.ts';
import type { KubeClient, WatchEvent } from './kubeClient.ts';
import { createMetrics } from './metrics.ts';
import { generationChanged } from './predicates.ts';
import { ItemExponentialRateLimiter } from './rateLimiter.ts';
import type { ListerWatcher } from './reflector.ts';

const log = pino({ level: 'silent' });
const MM = { apiVersion: 'prognos.dev/v1alpha1', kind: 'MaintenanceModel' };
const DEPLOY = { apiVersion: 'apps/v1', kind: 'Deployment' };
const FLEET = { apiVersion: 'prognos.dev/v1alpha1', kind: 'SensorFleet' };

const obj = (
  kind: { apiVersion: string; kind: string },
  name: string,
  extra: Record<string, unknown> = {},
): KubernetesObject => ({
  ...kind,
  metadata: { name, namespace: 'plant', resourceVersion: '1', uid: `uid-${name}`, generation: 1, ...extra },
});

/** Fake API: a list per kind and a watch the test pushes events into. */
function fakeApi(initial: Record<string, KubernetesObject[]>) {
  const emitters = new Map<string, (e: WatchEvent) => void>();
  const lwFor = (o: { apiVersion: string; kind: string }): ListerWatcher => ({
    list: async () => ({ items: initial[gvkKey(o)] ?? [], resourceVersion: '1' }),
    watch: (_rv, onEvent, signal) =>
      new Promise((resolve) => {
        emitters.set(gvkKey(o), onEvent);
        signal.addEventListener('abort', () => resolve());
      }),
  });
  const emit = (kind: { apiVersion: string; kind: string }, e: WatchEvent) => emitters.get(gvkKey(kind))!(e);
  return {
    lwFor,
    emit,
    watching: (kind: { apiVersion: string; kind: string }) => emitters.has(gvkKey(kind)),
  };
}

async function run(
  controller: Controller,
  api: ReturnType<typeof fakeApi>,
  fence = new TermFence(),
): Promise<{ informers: InformerCache; metrics: ReturnType<typeof createMetrics> }> {
  const informers = new InformerCache(api.lwFor, log, 0);
  const metrics = createMetrics();
  const client = {} as KubeClient;
  controller.setUp({
    client,
    informers,
    metrics,
    log,
    fence,
    events: new EventRecorder(client, { controller: 'c', instance: 'i', log }),
  });
  informers.start();
  await informers.waitForSync();
  controller.start();
  return { informers, metrics };
}

describe('Controller', () => {
  it('reconciles every primary on start, with the cached object', async () => {
    const seen: string[] = [];
    const c = new Controller('mm', {
      reconcile: async ({ request, object }) =>
        void seen.push(`${request.namespace}/${request.name}:${object?.metadata?.uid}`),
    }).for(MM);
    const { informers } = await run(c, fakeApi({ [gvkKey(MM)]: [obj(MM, 'a'), obj(MM, 'b')] }));
    await vi.waitFor(() => expect(seen.toSorted()).toEqual(['plant/a:uid-a', 'plant/b:uid-b']));
    await c.stop(1_000);
    await informers.stop();
  });

  it('maps owned objects to their controller owner, and other kinds through watches()', async () => {
    const seen: string[] = [];
    const owned = (name: string, owner: string) =>
      obj(DEPLOY, name, { ownerReferences: [{ ...MM, name: owner, uid: 'u', controller: true }] });
    const api = fakeApi({ [gvkKey(MM)]: [], [gvkKey(DEPLOY)]: [owned('pump-v1', 'pump')] });
    const c = new Controller('mm', { reconcile: async ({ request }) => void seen.push(request.key) })
      .for(MM)
      .owns(DEPLOY)
      .watches(FLEET, (fleet) => [`${fleet.metadata?.namespace}/model-of-${fleet.metadata?.name}`]);
    const { informers } = await run(c, api);
    await vi.waitFor(() => expect(seen).toEqual(['plant/pump']));
    await vi.waitFor(() => expect(api.watching(DEPLOY) && api.watching(FLEET)).toBe(true));
    api.emit(DEPLOY, { type: 'DELETED', object: owned('pump-v1', 'pump') });
    api.emit(DEPLOY, { type: 'ADDED', object: obj(DEPLOY, 'unowned') });
    api.emit(FLEET, { type: 'ADDED', object: obj(FLEET, 'pumps') });
    await vi.waitFor(() => expect(seen).toEqual(['plant/pump', 'plant/pump', 'plant/model-of-pumps']));
    await c.stop(1_000);
    await informers.stop();
  });

  it('retries errors and synchronous throws with growing backoff, then forgets on success', async () => {
    let calls = 0;
    const times: number[] = [];
    const reconcile: Reconciler<KubernetesObject> = () => {
      times.push(performance.now());
      calls++;
      if (calls === 1) throw new Error('sync panic');
      if (calls < 4) return Promise.reject(new Error('api down'));
      return Promise.resolve();
    };
    const c = new Controller('mm', {
      reconcile,
      rateLimiter: () => new ItemExponentialRateLimiter(20, 1_000),
    }).for(MM);
    const { informers, metrics } = await run(c, fakeApi({ [gvkKey(MM)]: [obj(MM, 'a')] }));
    await vi.waitFor(() => expect(calls).toBe(4));
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(gaps[0]).toBeGreaterThanOrEqual(19);
    expect(gaps[1]).toBeGreaterThanOrEqual(39);
    expect(gaps[2]).toBeGreaterThanOrEqual(79);
    const text = await metrics.registry.metrics();
    expect(text).toContain('controller_runtime_reconcile_errors_total{controller="mm"} 3');
    expect(text).toContain('controller_runtime_reconcile_total{controller="mm",result="error"} 3');
    expect(text).toContain('controller_runtime_reconcile_total{controller="mm",result="success"} 1');
    await c.stop(1_000);
    await informers.stop();
  });

  it('requeues after the requested delay', async () => {
    const times: number[] = [];
    const c = new Controller('mm', {
      reconcile: async () => {
        times.push(performance.now());
        return times.length < 3 ? { requeueAfterMs: 50 } : undefined;
      },
    }).for(MM);
    const { informers } = await run(c, fakeApi({ [gvkKey(MM)]: [obj(MM, 'a')] }));
    await vi.waitFor(() => expect(times).toHaveLength(3));
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(49);
    await c.stop(1_000);
    await informers.stop();
  });

  it('applies predicates: status-only updates do not wake the controller', async () => {
    const seen: string[] = [];
    const api = fakeApi({ [gvkKey(MM)]: [obj(MM, 'a')] });
    const c = new Controller('mm', {
      reconcile: async ({ object }) => void seen.push(object!.metadata!.resourceVersion!),
    }).for({
      ...MM,
      predicate: generationChanged,
    });
    const { informers } = await run(c, api);
    await vi.waitFor(() => {
      expect(seen).toEqual(['1']);
      expect(api.watching(MM)).toBe(true);
    });
    api.emit(MM, { type: 'MODIFIED', object: obj(MM, 'a', { resourceVersion: '2' }) });
    api.emit(MM, { type: 'MODIFIED', object: obj(MM, 'a', { resourceVersion: '3', generation: 2 }) });
    await vi.waitFor(() => expect(seen).toEqual(['1', '3']));
    await c.stop(1_000);
    await informers.stop();
  });

  it('stop lets an in-flight reconcile finish, and aborts one that overruns the grace period', async () => {
    let release!: () => void;
    let aborted = false;
    const c = new Controller('mm', {
      reconcile: ({ signal }) =>
        new Promise<void>((resolve) => {
          release = resolve;
          signal.addEventListener('abort', () => (aborted = true));
        }),
    }).for(MM);
    const { informers } = await run(c, fakeApi({ [gvkKey(MM)]: [obj(MM, 'a')] }));
    await vi.waitFor(() => expect(release).toBeDefined());
    const stopped = c.stop(5_000);
    setTimeout(() => release(), 20);
    await stopped;
    expect(aborted).toBe(true); // aborted after finishing: the signal ends with the run
    await informers.stop();

    let hung = false;
    const slow = new Controller('slow', {
      reconcile: ({ signal }) =>
        new Promise<void>((resolve) => signal.addEventListener('abort', () => ((hung = true), resolve()))),
    }).for(MM);
    const r = await run(slow, fakeApi({ [gvkKey(MM)]: [obj(MM, 'a')] }));
    await new Promise((res) => setTimeout(res, 20));
    const t0 = performance.now();
    await slow.stop(50);
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(hung).toBe(true);
    await r.informers.stop();
  });

  it('a lost term aborts the reconcile at once and counts it as fenced: no error, no retry', async () => {
    const fence = new TermFence();
    let calls = 0;
    let abortedAt: number | undefined;
    const c = new Controller('mm', {
      reconcile: ({ signal, fence: f }) =>
        new Promise<void>((_, reject) => {
          calls++;
          signal.addEventListener('abort', () => {
            abortedAt = performance.now();
            try {
              f.check(); // what a write would do next
            } catch (error) {
              reject(error as Error);
            }
          });
        }),
      rateLimiter: () => new ItemExponentialRateLimiter(5, 10),
    }).for(MM);
    const { informers, metrics } = await run(c, fakeApi({ [gvkKey(MM)]: [obj(MM, 'a')] }), fence);
    await vi.waitFor(() => expect(calls).toBe(1));
    const t0 = performance.now();
    fence.revoke('lost the lease');
    await vi.waitFor(() => expect(abortedAt).toBeDefined());
    expect(abortedAt! - t0).toBeLessThan(50); // not after a grace period
    await new Promise((res) => setTimeout(res, 100));
    expect(calls).toBe(1);
    const text = await metrics.registry.metrics();
    expect(text).toContain('controller_runtime_reconcile_total{controller="mm",result="fenced"} 1');
    expect(text).not.toContain('controller_runtime_reconcile_errors_total{controller="mm"} 1');
    await c.stop(1_000);
    await informers.stop();
  });
});
