import type { KubernetesObject } from '@kubernetes/client-node';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { Backoff } from './backoff.ts';
import { Informer } from './informer.ts';
import type { WatchEvent } from './kubeClient.ts';
import type { ListerWatcher } from './reflector.ts';

const log = pino({ level: 'silent' });
const cm = (name: string, rv: string): KubernetesObject => ({
  metadata: { name, namespace: 'ns', resourceVersion: rv },
});

/** Lists `items` once, then pushes whatever the test emits into an open watch. */
function fakeServer(items: KubernetesObject[]) {
  let emit: ((e: WatchEvent) => void) | undefined;
  const lw: ListerWatcher = {
    list: async () => ({ items, resourceVersion: '1' }),
    watch: (_rv, onEvent, signal) =>
      new Promise((resolve) => {
        emit = onEvent;
        signal.addEventListener('abort', () => resolve());
      }),
  };
  return {
    lw,
    emit: (e: WatchEvent) => {
      if (!emit) throw new Error('not watching yet');
      emit(e);
    },
  };
}

const opts = { apiVersion: 'v1', kind: 'ConfigMap' };

describe('Informer', () => {
  it('syncs, dispatches watch events and shares them with every handler', async () => {
    const server = fakeServer([cm('a', '1')]);
    const informer = new Informer(server.lw, opts, log, new Backoff(1, 1));
    const first: string[] = [];
    informer.addEventHandler({
      add: (o) => first.push(`add:${o.metadata?.name}`),
      update: (_old, o) => first.push(`update:${o.metadata?.name}`),
      delete: (o) => first.push(`delete:${o.metadata?.name}`),
    });
    expect(informer.hasSynced()).toBe(false);
    informer.start();
    await informer.waitForSync();
    expect(informer.hasSynced()).toBe(true);
    await vi.waitFor(() => expect(informer.get('ns/a')).toBeDefined());

    const late: string[] = [];
    informer.addEventHandler({ add: (o) => late.push(`add:${o.metadata?.name}`) });
    expect(late).toEqual(['add:a']);

    await vi.waitFor(() => server.emit({ type: 'ADDED', object: cm('b', '2') }));
    server.emit({ type: 'MODIFIED', object: cm('a', '3') });
    server.emit({ type: 'DELETED', object: cm('b', '4') });
    await informer.stop();
    expect(first).toEqual(['add:a', 'add:b', 'update:a', 'delete:b']);
    expect(late).toEqual(['add:a', 'add:b']);
    expect(informer.list().map((o) => o.metadata?.name)).toEqual(['a']);
  });

  it('caches objects without managedFields', async () => {
    const withFields = {
      metadata: { name: 'a', namespace: 'ns', resourceVersion: '1', managedFields: [{ manager: 'x' }] },
    };
    const server = fakeServer([withFields]);
    const informer = new Informer(server.lw, opts, log);
    informer.start();
    await informer.waitForSync();
    await vi.waitFor(() =>
      server.emit({ type: 'ADDED', object: { metadata: { ...withFields.metadata, name: 'b' } } }),
    );
    await vi.waitFor(() => expect(informer.get('ns/b')).toBeDefined());
    await informer.stop();
    expect(informer.list().map((o) => o.metadata)).toEqual([
      { name: 'a', namespace: 'ns', resourceVersion: '1' },
      { name: 'b', namespace: 'ns', resourceVersion: '1' },
    ]);
  });

  it('keeps going when a handler throws', async () => {
    const server = fakeServer([cm('a', '1'), cm('b', '1')]);
    const informer = new Informer(server.lw, opts, log);
    const seen: string[] = [];
    informer.addEventHandler({
      add: () => {
        throw new Error('boom');
      },
    });
    informer.addEventHandler({ add: (o) => seen.push(o.metadata!.name!) });
    informer.start();
    await informer.waitForSync();
    await informer.stop();
    expect(seen).toEqual(['a', 'b']);
  });

  it('re-delivers every object as an update on each resync period', async () => {
    vi.useFakeTimers();
    try {
      const server = fakeServer([cm('a', '1'), cm('b', '1')]);
      const informer = new Informer(server.lw, { ...opts, resyncPeriodMs: 1_000 }, log);
      const updates: string[] = [];
      informer.addEventHandler({ update: (old, o) => old === o && updates.push(o.metadata!.name!) });
      informer.start();
      await informer.waitForSync();
      await vi.advanceTimersByTimeAsync(2_500);
      await informer.stop();
      expect(updates).toEqual(['a', 'b', 'a', 'b']);
    } finally {
      vi.useRealTimers();
    }
  });
});
