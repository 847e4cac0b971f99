import type { Logger } from 'pino';
import { gvkKey } from './gvk.ts';
import { Informer, type InformerOptions } from './informer.ts';
import type { ListerWatcher } from './reflector.ts';

/** One informer per kind and selection, shared by every controller that watches it. */
export class InformerCache {
  readonly #listerWatcherFor: (options: InformerOptions) => ListerWatcher;
  readonly #log: Logger;
  readonly #resyncPeriodMs: number;
  readonly #informers = new Map<string, Informer>();
  /** Holders of the informers made by acquire(); the last release() stops and drops one. */
  readonly #holders = new Map<string, number>();
  #started = false;

  /** `listerWatcherFor` is `(o) => listerWatcher(client, o, o)` outside of tests. */
  constructor(
    listerWatcherFor: (options: InformerOptions) => ListerWatcher,
    log: Logger,
    resyncPeriodMs: number,
  ) {
    this.#listerWatcherFor = listerWatcherFor;
    this.#log = log;
    this.#resyncPeriodMs = resyncPeriodMs;
  }

  /** The shared informer for this selection, created (not started) on first use. */
  informerFor(options: InformerOptions): Informer {
    const key = selectionKey(options);
    let informer = this.#informers.get(key);
    if (!informer) {
      const { apiVersion, kind, namespace, labelSelector, fieldSelector } = options;
      const selection = { apiVersion, kind, namespace, labelSelector, fieldSelector };
      informer = new Informer(
        this.#listerWatcherFor(selection),
        { ...selection, resyncPeriodMs: this.#resyncPeriodMs },
        this.#log,
      );
      this.#informers.set(key, informer);
    }
    return informer;
  }

  /**
   * The shared informer for this selection, started at once if the cache runs: for selections that
   * come and go while it runs (one named object a reconcile reads). Pair each call with release().
   */
  acquire(options: InformerOptions): Informer {
    const key = selectionKey(options);
    const informer = this.informerFor(options);
    this.#holders.set(key, (this.#holders.get(key) ?? 0) + 1);
    if (this.#started) informer.start();
    return informer;
  }

  /** Gives back an acquire(); the last holder's release stops the informer and forgets its cache. */
  async release(options: InformerOptions): Promise<void> {
    const key = selectionKey(options);
    const held = this.#holders.get(key);
    if (held === undefined) return;
    if (held > 1) {
      this.#holders.set(key, held - 1);
      return;
    }
    this.#holders.delete(key);
    const informer = this.#informers.get(key);
    this.#informers.delete(key);
    await informer?.stop();
  }

  /** The informer for this selection if one was set up. */
  get(options: InformerOptions): Informer | undefined {
    return this.#informers.get(selectionKey(options));
  }

  all(): Informer[] {
    return [...this.#informers.values()];
  }

  start(): void {
    this.#started = true;
    for (const i of this.#informers.values()) i.start();
  }

  async stop(): Promise<void> {
    this.#started = false;
    await Promise.all(this.all().map((i) => i.stop()));
  }

  hasSynced(): boolean {
    return this.all().every((i) => i.hasSynced());
  }

  /** Resolves true once every informer synced, false if `signal` aborted first. */
  async waitForSync(signal?: AbortSignal): Promise<boolean> {
    await Promise.all(this.all().map((i) => i.waitForSync(signal)));
    return this.hasSynced();
  }
}

function selectionKey(o: InformerOptions): string {
  return [gvkKey(o), o.namespace ?? '', o.labelSelector ?? '', o.fieldSelector ?? ''].join('|');
}
