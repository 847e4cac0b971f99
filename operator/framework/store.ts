import type { KubernetesObject } from '@kubernetes/client-node';
import { keyOf } from './gvk.ts';
import type { WatchEvent } from './kubeClient.ts';

export type Delta<T extends KubernetesObject = KubernetesObject> =
  { type: 'add'; obj: T } | { type: 'update'; old: T; obj: T } | { type: 'delete'; obj: T };

const rv = (o: KubernetesObject) => o.metadata?.resourceVersion;

/** The informer cache: objects keyed namespace/name, changed only through the deltas it returns. */
export class Store<T extends KubernetesObject = KubernetesObject> {
  readonly #items = new Map<string, T>();

  get(key: string): T | undefined {
    return this.#items.get(key);
  }

  list(): T[] {
    return [...this.#items.values()];
  }

  get size(): number {
    return this.#items.size;
  }

  /**
   * Replaces the content with a fresh list and returns what changed. Objects deleted while the
   * watch was down are not in the list: they come back as deletes of their last known state.
   */
  replace(items: readonly T[]): Delta<T>[] {
    const deltas = diffRelist(this.#items, items);
    this.#items.clear();
    for (const item of items) this.#items.set(keyOf(item), item);
    return deltas;
  }

  apply(event: WatchEvent<T>): Delta<T> | undefined {
    const key = keyOf(event.object);
    const old = this.#items.get(key);
    if (event.type === 'DELETED') {
      this.#items.delete(key);
      return { type: 'delete', obj: event.object };
    }
    if (event.type !== 'ADDED' && event.type !== 'MODIFIED') return undefined;
    this.#items.set(key, event.object);
    if (!old) return { type: 'add', obj: event.object };
    return rv(old) === rv(event.object) ? undefined : { type: 'update', old, obj: event.object };
  }
}

/** What a relist changes relative to the cache: new objects, changed resourceVersions, vanished objects. */
export function diffRelist<T extends KubernetesObject>(
  known: ReadonlyMap<string, T>,
  listed: readonly T[],
): Delta<T>[] {
  const deltas: Delta<T>[] = [];
  const seen = new Set<string>();
  for (const obj of listed) {
    const key = keyOf(obj);
    seen.add(key);
    const old = known.get(key);
    if (!old) deltas.push({ type: 'add', obj });
    else if (rv(old) !== rv(obj)) deltas.push({ type: 'update', old, obj });
  }
  for (const [key, old] of known) if (!seen.has(key)) deltas.push({ type: 'delete', obj: old });
  return deltas;
}
