import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { gvkKey, objectKey, type GroupVersionKind } from './gvk.ts';
import type { EventHandler, Informer, InformerOptions } from './informer.ts';
import type { InformerCache } from './informerCache.ts';

/** How long a first read waits for its watch to list the object. */
const DEFAULT_SYNC_TIMEOUT_MS = 10_000;

/** A referenced object could not be read: its watch failed (e.g. 403 Forbidden) or did not list in time. */
export class ReferenceUnreadableError extends Error {
  override readonly name = 'ReferenceUnreadableError';
}

interface Watched {
  options: InformerOptions;
  informer: Informer;
  handler: EventHandler;
  /** Primary keys whose reconciles read this object. */
  referrers: Set<string>;
}

/**
 * Objects that primaries name in their spec (a SensorFleet's Secrets) and reconciles read, each cached
 * through a watch of that object alone (field selector `metadata.name=<name>` in its namespace, shared
 * through the InformerCache): the cache holds what is referenced and nothing else, a reconcile reads
 * it without a request, and a change to it (a rotated Secret) reconciles every primary that read it.
 *
 * What a primary references is what its last reconcile read: a reconcile that stops reading an object
 * (the spec now names another, the primary is gone) lets go of it, and the watch of an object nobody
 * reads any more is stopped. A failed reconcile keeps what it held as well, since it may have failed
 * before it got to its reads. One References per controller run; one key reconciles at a time.
 */
export class References {
  readonly #informers: InformerCache;
  readonly #onChange: (keys: string[]) => void;
  readonly #log: Logger;
  readonly #syncTimeoutMs: number;
  readonly #watched = new Map<string, Watched>();
  /** What each primary references: the objects its last reconcile read. */
  readonly #held = new Map<string, Set<string>>();
  /** What each running reconcile read so far. */
  readonly #reading = new Map<string, Set<string>>();

  constructor(options: {
    informers: InformerCache;
    /** Primary keys to reconcile again: an object they read changed. */
    onChange: (keys: string[]) => void;
    log: Logger;
    syncTimeoutMs?: number;
  }) {
    this.#informers = options.informers;
    this.#onChange = options.onChange;
    this.#log = options.log;
    this.#syncTimeoutMs = options.syncTimeoutMs ?? DEFAULT_SYNC_TIMEOUT_MS;
  }

  /**
   * The object `namespace/name` of `kind` for the reconcile of `key`, from its watch (undefined when it
   * does not exist). The first read of an object waits for its watch to list it; a watch that fails
   * (403 Forbidden, say) or does not list in time throws ReferenceUnreadableError.
   */
  async read<T extends KubernetesObject>(
    key: string,
    kind: GroupVersionKind,
    namespace: string,
    name: string,
    signal?: AbortSignal,
  ): Promise<T | undefined> {
    const ref = [gvkKey(kind), namespace, name].join('|');
    let reading = this.#reading.get(key);
    if (!reading) this.#reading.set(key, (reading = new Set()));
    reading.add(ref);
    const watched = this.#watch(ref, kind, namespace, name);
    watched.referrers.add(key);
    const { informer } = watched;
    if (!informer.hasSynced()) {
      const timeout = AbortSignal.timeout(this.#syncTimeoutMs);
      await informer.waitForSyncOrFailure(signal ? AbortSignal.any([signal, timeout]) : timeout);
      if (!informer.hasSynced()) {
        const cause = informer.lastError;
        const why =
          cause instanceof Error ? cause.message : `its watch did not list it in ${this.#syncTimeoutMs} ms`;
        throw new ReferenceUnreadableError(`cannot read ${kind.kind} ${namespace}/${name}: ${why}`);
      }
    }
    return informer.get(objectKey(namespace, name)) as T | undefined;
  }

  /** The reconcile of `key` ended: what it read is what `key` references now (plus what it held, if it failed). */
  settle(key: string, succeeded: boolean): void {
    const read = this.#reading.get(key) ?? new Set<string>();
    this.#reading.delete(key);
    const held = this.#held.get(key) ?? new Set<string>();
    const next = succeeded ? read : new Set([...held, ...read]);
    if (next.size > 0) this.#held.set(key, next);
    else this.#held.delete(key);
    for (const ref of held) if (!next.has(ref)) this.#letGo(ref, key);
  }

  /** Primary keys holding a reference to `namespace/name` of `kind` (for tests and logs). */
  referrersOf(kind: GroupVersionKind, namespace: string, name: string): string[] {
    return [...(this.#watched.get([gvkKey(kind), namespace, name].join('|'))?.referrers ?? [])];
  }

  /** Stops every watch this References started. */
  async close(): Promise<void> {
    const all = [...this.#watched.values()];
    this.#watched.clear();
    this.#held.clear();
    this.#reading.clear();
    await Promise.all(
      all.map((w) => {
        w.informer.removeEventHandler(w.handler);
        return this.#informers.release(w.options);
      }),
    );
  }

  #watch(ref: string, kind: GroupVersionKind, namespace: string, name: string): Watched {
    const existing = this.#watched.get(ref);
    if (existing) return existing;
    const options: InformerOptions = { ...kind, namespace, fieldSelector: `metadata.name=${name}` };
    const informer = this.#informers.acquire(options);
    const referrers = new Set<string>();
    const changed = () => {
      // The first list only answers the read that started the watch; later deltas are real changes.
      if (informer.hasSynced() && referrers.size > 0) this.#onChange([...referrers]);
    };
    const handler: EventHandler = {
      add: changed,
      // A periodic resync re-delivers an unchanged object: nothing to do.
      update: (old, obj) => {
        if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) changed();
      },
      delete: changed,
    };
    informer.addEventHandler(handler);
    const watched: Watched = { options, informer, handler, referrers };
    this.#watched.set(ref, watched);
    this.#log.debug({ kind: kind.kind, namespace, name }, 'watching a referenced object');
    return watched;
  }

  #letGo(ref: string, key: string): void {
    const watched = this.#watched.get(ref);
    if (!watched) return;
    watched.referrers.delete(key);
    if (watched.referrers.size > 0) return;
    this.#watched.delete(ref);
    watched.informer.removeEventHandler(watched.handler);
    void this.#informers.release(watched.options);
    this.#log.debug({ ref }, 'stopped watching an object nobody references');
  }
}
