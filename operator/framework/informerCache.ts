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

  /** The informer for this selection if one was set up. */
  get(options: InformerOptions): Informer | undefined {
    return this.#informers.get(selectionKey(options));
  }

  all(): Informer[] {
    return [...this.#informers.values()];
  }

  start(): void {
    for (const i of this.#informers.values()) i.start();
  }

  async stop(): Promise<void> {
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
