import type { KubernetesObject } from '@kubernetes/client-node';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { InformerOptions } from './informer.ts';
import { InformerCache } from './informerCache.ts';
import { ApiError, type WatchEvent } from './kubeClient.ts';
import type { ListerWatcher } from './reflector.ts';
import { ReferenceUnreadableError, References } from './references.ts';

const log = pino({ level: 'silent' });
const SECRET = { apiVersion: 'v1', kind: 'Secret' };
const secret = (namespace: string, name: string, rv: string): KubernetesObject => ({
  metadata: { name, namespace, resourceVersion: rv },
});

/**
 * A fake API server holding Secrets: a list honours the namespace and the metadata.name field
 * selector (as the real one does); each open watch receives the events of its selection.
 */
function fakeServer(objects: KubernetesObject[], forbidden = new Set<string>()) {
  const lists: InformerOptions[] = [];
  const watches = new Map<string, (e: WatchEvent) => void>();
  const selected = (o: InformerOptions, obj: KubernetesObject) =>
    obj.metadata?.namespace === o.namespace && `metadata.name=${obj.metadata?.name}` === o.fieldSelector;
  const lw = (o: InformerOptions): ListerWatcher => ({
    list: async () => {
      lists.push(o);
      if (forbidden.has(o.namespace ?? ''))
        throw new ApiError(403, 'Forbidden', `secrets is forbidden: cannot list secrets in ${o.namespace}`);
      return { items: objects.filter((obj) => selected(o, obj)), resourceVersion: '1' };
    },
    watch: (_rv, onEvent, signal) =>
      new Promise((resolve) => {
        const key = `${o.namespace}|${o.fieldSelector}`;
        watches.set(key, onEvent);
        signal.addEventListener('abort', () => {
          watches.delete(key);
          resolve();
        });
      }),
  });
  return {
    lw,
    lists,
    watching: () => [...watches.keys()].sort(),
    emit(type: WatchEvent['type'], obj: KubernetesObject) {
      watches.get(`${obj.metadata?.namespace}|metadata.name=${obj.metadata?.name}`)?.({ type, object: obj });
    },
  };
}

function setUp(server: ReturnType<typeof fakeServer>) {
  const informers = new InformerCache(server.lw, log, 0);
  informers.start();
  const woken: string[][] = [];
  const refs = new References({ informers, onChange: (keys) => woken.push(keys.sort()), log });
  return { informers, refs, woken };
}

describe('References', () => {
  it('reads a Secret through a watch of that Secret alone, then from the cache', async () => {
    const server = fakeServer([secret('a', 'creds', '5'), secret('a', 'other', '6')]);
    const { refs, woken } = setUp(server);
    const first = await refs.read('a/fleet', SECRET, 'a', 'creds');
    expect(first?.metadata?.resourceVersion).toBe('5');
    expect(server.lists).toEqual([
      expect.objectContaining({ namespace: 'a', fieldSelector: 'metadata.name=creds', kind: 'Secret' }),
    ]);
    refs.settle('a/fleet', true);
    expect(await refs.read('a/fleet', SECRET, 'a', 'creds')).toBe(first);
    expect(server.lists).toHaveLength(1);
    // The first list answered the read: it wakes nobody.
    expect(woken).toEqual([]);
    await refs.close();
  });

  it('a change to the Secret reconciles every primary that read it; a resync does not', async () => {
    const server = fakeServer([secret('a', 'creds', '5')]);
    const { refs, woken } = setUp(server);
    await refs.read('a/fleet', SECRET, 'a', 'creds');
    refs.settle('a/fleet', true);
    await refs.read('a/model', SECRET, 'a', 'creds');
    refs.settle('a/model', true);
    await vi.waitFor(() => expect(server.watching()).toEqual(['a|metadata.name=creds']));

    server.emit('MODIFIED', secret('a', 'creds', '7'));
    expect(woken).toEqual([['a/fleet', 'a/model']]);
    expect((await refs.read('a/x', SECRET, 'a', 'creds'))?.metadata?.resourceVersion).toBe('7');
    server.emit('MODIFIED', secret('a', 'creds', '7'));
    expect(woken).toHaveLength(1);
    server.emit('DELETED', secret('a', 'creds', '8'));
    expect(woken).toHaveLength(2);
    expect(await refs.read('a/x', SECRET, 'a', 'creds')).toBeUndefined();
    await refs.close();
  });

  it('a Secret that does not exist yet reads as undefined, and its creation wakes the reader', async () => {
    const server = fakeServer([]);
    const { refs, woken } = setUp(server);
    expect(await refs.read('a/fleet', SECRET, 'a', 'later')).toBeUndefined();
    refs.settle('a/fleet', true);
    await vi.waitFor(() => expect(server.watching()).toEqual(['a|metadata.name=later']));
    server.emit('ADDED', secret('a', 'later', '9'));
    expect(woken).toEqual([['a/fleet']]);
    await refs.close();
  });

  it('stops the watch of a Secret no reconcile reads any more; a failed reconcile keeps what it held', async () => {
    const server = fakeServer([secret('a', 'old', '1'), secret('a', 'new', '2')]);
    const { informers, refs } = setUp(server);
    const sel = (name: string) => ({ ...SECRET, namespace: 'a', fieldSelector: `metadata.name=${name}` });
    await refs.read('a/fleet', SECRET, 'a', 'old');
    refs.settle('a/fleet', true);
    await refs.read('a/other', SECRET, 'a', 'old');
    refs.settle('a/other', true);

    // The fleet now names another Secret, but its reconcile failed: both stay referenced.
    await refs.read('a/fleet', SECRET, 'a', 'new');
    refs.settle('a/fleet', false);
    expect(refs.referrersOf(SECRET, 'a', 'old')).toEqual(['a/fleet', 'a/other']);
    // It succeeds: it lets go of the old one, which another primary still reads.
    await refs.read('a/fleet', SECRET, 'a', 'new');
    refs.settle('a/fleet', true);
    expect(refs.referrersOf(SECRET, 'a', 'old')).toEqual(['a/other']);
    expect(informers.get(sel('old'))).toBeDefined();

    // The other primary is gone (its reconcile reads nothing): nobody reads it, its watch stops.
    refs.settle('a/other', true);
    expect(refs.referrersOf(SECRET, 'a', 'old')).toEqual([]);
    expect(informers.get(sel('old'))).toBeUndefined();
    await vi.waitFor(() => expect(server.watching()).toEqual(['a|metadata.name=new']));
    await refs.close();
    await vi.waitFor(() => expect(server.watching()).toEqual([]));
  });

  it('a Secret it may not list fails the read at once with the API server message', async () => {
    const server = fakeServer([secret('b', 'creds', '1')], new Set(['b']));
    const { refs } = setUp(server);
    const started = performance.now();
    const read = refs.read('b/fleet', SECRET, 'b', 'creds');
    await expect(read).rejects.toThrow(ReferenceUnreadableError);
    await expect(read).rejects.toThrow(
      'cannot read Secret b/creds: secrets is forbidden: cannot list secrets in b',
    );
    expect(performance.now() - started).toBeLessThan(5_000);
    await refs.close();
  });
});
