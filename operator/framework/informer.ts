import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Backoff } from './backoff.ts';
import type { GroupVersionKind } from './gvk.ts';
import type { ListOptions, WatchEvent } from './kubeClient.ts';
import { runReflector, type ListerWatcher } from './reflector.ts';
import { Store, type Delta } from './store.ts';

export interface EventHandler<T extends KubernetesObject = KubernetesObject> {
  add?(obj: T): void;
  /** Also called with old === obj on every periodic resync. */
  update?(old: T, obj: T): void;
  /** With the last known state when the deletion was seen only on a relist. */
  delete?(obj: T): void;
}

export interface InformerOptions extends GroupVersionKind, ListOptions {
  /** Re-deliver every cached object as an update this often; 0 disables. */
  resyncPeriodMs?: number;
}

/**
 * A shared informer: one reflector feeding one cache and any number of handlers. Handlers run
 * synchronously in event order and must be cheap (controllers only enqueue keys); a throwing handler
 * is logged and does not disturb the others or the reflector.
 */
export class Informer<T extends KubernetesObject = KubernetesObject> {
  readonly options: InformerOptions;
  readonly #lw: ListerWatcher;
  readonly #log: Logger;
  readonly #backoff: Backoff | undefined;
  readonly #store = new Store<T>();
  readonly #handlers: EventHandler<T>[] = [];
  readonly #syncWaiters: (() => void)[] = [];
  readonly #failWaiters = new Set<() => void>();
  #synced = false;
  #lastError: unknown;
  #abort: AbortController | undefined;
  #running: Promise<void> | undefined;
  #resync: NodeJS.Timeout | undefined;

  constructor(lw: ListerWatcher, options: InformerOptions, log: Logger, backoff?: Backoff) {
    this.options = options;
    this.#lw = lw;
    this.#log = log.child({
      informer: `${options.apiVersion}/${options.kind}`,
      namespace: options.namespace,
      labelSelector: options.labelSelector,
      fieldSelector: options.fieldSelector,
    });
    this.#backoff = backoff;
  }

  /** Registers a handler; if the cache is already synced it first gets an add for every object. */
  addEventHandler(handler: EventHandler<T>): void {
    this.#handlers.push(handler);
    if (this.#synced) for (const obj of this.#store.list()) this.#call(handler, { type: 'add', obj });
  }

  removeEventHandler(handler: EventHandler<T>): void {
    const i = this.#handlers.indexOf(handler);
    if (i >= 0) this.#handlers.splice(i, 1);
  }

  get(key: string): T | undefined {
    return this.#store.get(key);
  }

  list(): T[] {
    return this.#store.list();
  }

  /** True once the first list has been delivered. */
  hasSynced(): boolean {
    return this.#synced;
  }

  /** Resolves when synced, or when `signal` aborts (check `hasSynced()`). */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.#synced || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      this.#syncWaiters.push(resolve);
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  /**
   * Resolves when synced, when a list or watch fails first (see `lastError`), or when `signal`
   * aborts: for a reader that would rather report a failure (403 Forbidden) than wait out the retries.
   */
  waitForSyncOrFailure(signal?: AbortSignal): Promise<void> {
    if (this.#synced || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.#failWaiters.delete(done);
        resolve();
      };
      this.#failWaiters.add(done);
      this.#syncWaiters.push(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** The last list or watch failure since the last successful list; undefined when there was none. */
  get lastError(): unknown {
    return this.#lastError;
  }

  get running(): boolean {
    return this.#abort !== undefined;
  }

  start(): void {
    if (this.#abort) return;
    const abort = new AbortController();
    this.#abort = abort;
    const sink = {
      replace: (items: KubernetesObject[]) => {
        this.#lastError = undefined;
        for (const d of this.#store.replace(items.map(stripManagedFields) as T[])) this.#dispatch(d);
        if (!this.#synced) {
          this.#synced = true;
          for (const w of this.#syncWaiters.splice(0)) w();
        }
      },
      apply: (event: WatchEvent) => {
        const d = this.#store.apply({ ...event, object: stripManagedFields(event.object) } as WatchEvent<T>);
        if (d) this.#dispatch(d);
      },
    };
    const onError = (err: unknown) => {
      this.#lastError = err;
      for (const w of [...this.#failWaiters]) w();
    };
    this.#running = runReflector(this.#lw, sink, abort.signal, {
      log: this.#log,
      backoff: this.#backoff,
      onError,
    });
    const period = this.options.resyncPeriodMs ?? 0;
    if (period > 0) {
      this.#resync = setInterval(() => {
        if (!this.#synced) return;
        for (const obj of this.#store.list()) this.#dispatch({ type: 'update', old: obj, obj });
      }, period);
      this.#resync.unref();
    }
  }

  /** Stops the reflector; the cache keeps its last content (a restart relists and diffs). */
  async stop(): Promise<void> {
    clearInterval(this.#resync);
    this.#abort?.abort();
    await this.#running;
    this.#abort = undefined;
    this.#running = undefined;
  }

  #dispatch(delta: Delta<T>): void {
    for (const h of this.#handlers) this.#call(h, delta);
  }

  #call(handler: EventHandler<T>, delta: Delta<T>): void {
    try {
      if (delta.type === 'add') handler.add?.(delta.obj);
      else if (delta.type === 'update') handler.update?.(delta.old, delta.obj);
      else handler.delete?.(delta.obj);
    } catch (err) {
      this.#log.error({ err }, 'event handler failed');
    }
  }
}

/**
 * managedFields is often the largest part of an applied object and nothing in a controller reads it
 * (server-side apply works on the server): dropping it from the cache roughly halves its memory,
 * as controller-runtime's default cache transform does.
 */
export function stripManagedFields(obj: KubernetesObject): KubernetesObject {
  if (!obj.metadata?.managedFields) return obj;
  const metadata = { ...obj.metadata };
  delete metadata.managedFields;
  return { ...obj, metadata };
}
