import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Backoff, sleep } from './backoff.ts';
import type { GroupVersionKind } from './gvk.ts';
import { isGone, type KubeClient, type ListOptions, type WatchEvent } from './kubeClient.ts';

/** The two calls a reflector needs; an interface so the loop is testable without a server. */
export interface ListerWatcher {
  list(signal: AbortSignal): Promise<{ items: KubernetesObject[]; resourceVersion: string }>;
  /** Resolves when the server ends the watch; rejects on any failure. */
  watch(resourceVersion: string, onEvent: (e: WatchEvent) => void, signal: AbortSignal): Promise<void>;
}

export interface ReflectorSink {
  /** The full content after every (re)list. */
  replace(items: KubernetesObject[]): void;
  /** An ADDED, MODIFIED or DELETED event. */
  apply(event: WatchEvent): void;
}

export interface ReflectorOptions {
  log: Logger;
  backoff?: Backoff;
  /** Told of each failed list or watch (not 410 Gone) before the retry's backoff. */
  onError?: (err: unknown) => void;
}

/** A watch that lasted this long was healthy: the next failure starts backing off from scratch. */
const healthyWatchMs = 10_000;

class WatchExpired extends Error {}

export function listerWatcher(
  client: KubeClient,
  gvk: GroupVersionKind,
  options: ListOptions,
): ListerWatcher {
  return {
    list: (signal) => client.list(gvk, options, signal),
    watch: (resourceVersion, onEvent, signal) => {
      // Spread reconnects like client-go (5-10 min), and give up on a silent connection after that.
      const timeoutSeconds = 300 + Math.floor(Math.random() * 300);
      return client.watch(
        gvk,
        { ...options, resourceVersion, timeoutSeconds, idleTimeoutMs: (timeoutSeconds + 30) * 1000 },
        onEvent,
        signal,
      );
    },
  };
}

/**
 * List, then watch from the list's resourceVersion, forever: a watch the server ends is resumed from
 * the last resourceVersion seen (bookmarks keep it fresh); 410 Gone relists, and the sink's diff
 * turns objects deleted meanwhile into deletes. Any other error waits a jittered backoff and retries.
 * It never throws and returns only when `signal` aborts.
 */
export async function runReflector(
  lw: ListerWatcher,
  sink: ReflectorSink,
  signal: AbortSignal,
  options: ReflectorOptions,
): Promise<void> {
  const { log } = options;
  const backoff = options.backoff ?? new Backoff();
  let resourceVersion: string | undefined;
  while (!signal.aborted) {
    const started = performance.now();
    try {
      if (resourceVersion === undefined) {
        const listed = await lw.list(signal);
        sink.replace(listed.items);
        resourceVersion = listed.resourceVersion;
        log.debug({ count: listed.items.length, resourceVersion }, 'listed');
      }
      await lw.watch(
        resourceVersion,
        (event) => {
          if (event.type === 'ERROR') {
            const status = event.object as { code?: number; message?: string };
            if (status.code === 410) throw new WatchExpired(status.message);
            throw new Error(`watch error ${status.code ?? '?'}: ${status.message ?? ''}`);
          }
          const rv = event.object.metadata?.resourceVersion;
          if (event.type !== 'BOOKMARK') sink.apply(event);
          if (rv) resourceVersion = rv;
        },
        signal,
      );
      if (performance.now() - started >= healthyWatchMs) {
        backoff.reset();
        continue;
      }
      // Closed quickly without an error: still back off, or a flapping server makes us spin.
      await sleep(backoff.next(), signal);
    } catch (err) {
      if (signal.aborted) break;
      if (err instanceof WatchExpired || isGone(err)) {
        log.info({ resourceVersion }, 'resourceVersion expired (410 Gone): relisting');
        resourceVersion = undefined;
        continue;
      }
      if (performance.now() - started >= healthyWatchMs) backoff.reset();
      options.onError?.(err);
      const delay = backoff.next();
      log.warn({ err, delayMs: delay }, 'list/watch failed: retrying');
      await sleep(delay, signal);
    }
  }
}
