import { KubeApiError, type KubeClient } from './kubeClient.ts';

export interface ListWatchHandlers<T> {
  /** The complete current set (after every (re)list); the handler reconciles against it. */
  onList(items: T[]): void;
  onEvent(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: T): void;
}

/**
 * List, then watch from the list's resourceVersion, forever: a watch that ends is resumed from the
 * last seen version, a 410 Gone (version too old) relists, and any other failure retries with
 * backoff. Never throws: it runs inside the test supervisor. Returns once `signal` aborts.
 */
export async function runListWatch<T extends { metadata?: { resourceVersion?: string } }>(
  client: KubeClient,
  listPath: string,
  handlers: ListWatchHandlers<T>,
  signal: AbortSignal,
  log: (line: string) => void,
): Promise<void> {
  let failures = 0;
  while (!signal.aborted) {
    try {
      const list = await client.request<{ items: T[]; metadata: { resourceVersion: string } }>(
        'GET',
        listPath,
      );
      try {
        handlers.onList(list.items);
      } catch (err) {
        log(`handling list of ${listPath} failed: ${(err as Error).stack ?? String(err)}`);
      }
      let rv = list.metadata.resourceVersion;
      failures = 0;
      for (;;) {
        if (signal.aborted) return;
        let gone = false;
        const sep = listPath.includes('?') ? '&' : '?';
        await client.watch(
          `${listPath}${sep}watch=true&allowWatchBookmarks=true&timeoutSeconds=300&resourceVersion=${rv}`,
          (e) => {
            if (e.type === 'ERROR') {
              if ((e.object as { code?: number }).code === 410) gone = true;
              else log(`watch ${listPath}: ${JSON.stringify(e.object)}`);
              return;
            }
            const obj = e.object as T;
            if (obj.metadata?.resourceVersion) rv = obj.metadata.resourceVersion;
            if (e.type === 'BOOKMARK') return;
            try {
              handlers.onEvent(e.type, obj);
            } catch (err) {
              log(`handling ${e.type} from ${listPath} failed: ${(err as Error).stack ?? String(err)}`);
            }
          },
          signal,
        );
        if (gone) break;
      }
    } catch (err) {
      if (signal.aborted) return;
      if (!(err instanceof KubeApiError && err.status === 410)) {
        failures++;
        log(`list/watch ${listPath} failed (attempt ${failures}): ${(err as Error).message}`);
      }
      await sleep(Math.min(250 * 2 ** Math.min(failures, 5), 5000), signal);
    }
  }
}

/** Resolves after `ms`, or early when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
