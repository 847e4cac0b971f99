import type { KubernetesObject } from '@kubernetes/client-node';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.ts';
import { ApiError, type WatchEvent } from './kubeClient.ts';
import { runReflector, type ListerWatcher } from './reflector.ts';
import { Store } from './store.ts';

const log = pino({ level: 'silent' });
const cm = (name: string, rv: string): KubernetesObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'ns', resourceVersion: rv },
});

type Step = (onEvent: (e: WatchEvent) => void) => Promise<void>;

/** A scripted server: each list returns the next list, each watch runs the next step. */
function scripted(lists: KubernetesObject[][], steps: Step[], abort: AbortController) {
  const calls: string[] = [];
  const lw: ListerWatcher = {
    list: async () => {
      const items = lists.shift();
      if (!items) throw new Error('unexpected list');
      const rv = String(Math.max(0, ...items.map((o) => Number(o.metadata?.resourceVersion))));
      calls.push(`list@${rv}`);
      return { items, resourceVersion: rv };
    },
    watch: async (rv, onEvent) => {
      calls.push(`watch@${rv}`);
      const step = steps.shift();
      if (!step) {
        abort.abort();
        return;
      }
      await step(onEvent);
    },
  };
  return { lw, calls };
}

function sinkFor(store: Store, seen: string[]) {
  return {
    replace: (items: KubernetesObject[]) => {
      for (const d of store.replace(items)) seen.push(`${d.type}:${d.obj.metadata?.name}`);
    },
    apply: (e: WatchEvent) => {
      const d = store.apply(e);
      if (d) seen.push(`${d.type}:${d.obj.metadata?.name}`);
    },
  };
}

const fastBackoff = () => new Backoff(1, 2);

describe('runReflector', () => {
  it('lists, watches from the list resourceVersion and resumes from the last event or bookmark', async () => {
    const abort = new AbortController();
    const { lw, calls } = scripted(
      [[cm('a', '1')]],
      [
        async (on) => {
          on({ type: 'ADDED', object: cm('b', '2') });
          on({ type: 'MODIFIED', object: cm('a', '3') });
        },
        async (on) => on({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '9' } } }),
      ],
      abort,
    );
    const seen: string[] = [];
    await runReflector(lw, sinkFor(new Store(), seen), abort.signal, { log, backoff: fastBackoff() });
    expect(calls).toEqual(['list@1', 'watch@1', 'watch@3', 'watch@9']);
    expect(seen).toEqual(['add:a', 'add:b', 'update:a']);
  });

  it('relists on 410 Gone (as an ERROR event or an HTTP status) and reports deletions it missed', async () => {
    const abort = new AbortController();
    const { lw, calls } = scripted(
      [[cm('a', '1'), cm('b', '2')], [cm('a', '5')], [cm('a', '5'), cm('c', '6')]],
      [
        async (on) => on({ type: 'ERROR', object: { code: 410, message: 'too old' } as KubernetesObject }),
        async () => {
          throw new ApiError(410, 'Expired', 'too old resource version');
        },
      ],
      abort,
    );
    const seen: string[] = [];
    await runReflector(lw, sinkFor(new Store(), seen), abort.signal, { log, backoff: fastBackoff() });
    expect(calls).toEqual(['list@2', 'watch@2', 'list@5', 'watch@5', 'list@6', 'watch@6']);
    expect(seen).toEqual(['add:a', 'add:b', 'update:a', 'delete:b', 'add:c']);
  });

  it('survives any error, keeping its resourceVersion, and never throws', async () => {
    const abort = new AbortController();
    const { lw, calls } = scripted(
      [[cm('a', '1')]],
      [
        async () => {
          throw new Error('ECONNREFUSED');
        },
        async (on) => {
          on({ type: 'ADDED', object: cm('b', '4') });
          throw new Error('socket hang up');
        },
        async (on) => on({ type: 'ERROR', object: { code: 500, message: 'internal' } as KubernetesObject }),
      ],
      abort,
    );
    const seen: string[] = [];
    await runReflector(lw, sinkFor(new Store(), seen), abort.signal, { log, backoff: fastBackoff() });
    expect(calls).toEqual(['list@1', 'watch@1', 'watch@1', 'watch@4', 'watch@4']);
    expect(seen).toEqual(['add:a', 'add:b']);
  });

  it('retries a failing list with backoff until it succeeds', async () => {
    const abort = new AbortController();
    let failures = 2;
    const { lw, calls } = scripted([[cm('a', '1')]], [], abort);
    const flaky: ListerWatcher = {
      list: (signal) => (failures-- > 0 ? Promise.reject(new Error('down')) : lw.list(signal)),
      watch: lw.watch,
    };
    const seen: string[] = [];
    await runReflector(flaky, sinkFor(new Store(), seen), abort.signal, { log, backoff: fastBackoff() });
    expect(calls).toEqual(['list@1', 'watch@1']);
    expect(seen).toEqual(['add:a']);
  });

  it('stops promptly when aborted during a backoff', async () => {
    const abort = new AbortController();
    const lw: ListerWatcher = {
      list: () => Promise.reject(new Error('down')),
      watch: () => Promise.resolve(),
    };
    const done = runReflector(lw, sinkFor(new Store(), []), abort.signal, {
      log,
      backoff: new Backoff(60_000),
    });
    setTimeout(() => abort.abort(), 10);
    await done;
  });
});
