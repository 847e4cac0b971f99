import type { KubernetesObject } from '@kubernetes/client-node';
import { applyStatus } from './apply.ts';
import { semanticEqual, statusChanged } from './conditions.ts';
import { keyOf } from './gvk.ts';
import type { KubeClient } from './kubeClient.ts';

type WithStatus = KubernetesObject & { status?: unknown };

/** The status to write: `status` stamped with the generation it describes. */
export function desiredStatus<S extends object>(
  obj: KubernetesObject,
  status: S,
): S & { observedGeneration?: number } {
  return { ...status, observedGeneration: obj.metadata?.generation };
}

interface Written {
  uid: string | undefined;
  resourceVersion: string | undefined;
  status: unknown;
  at: number;
}

/**
 * The status this process last wrote to each object, kept until the watch cache shows it. A status
 * write wakes the key again, and that reconcile (or one already queued) can read the cached object
 * from before the write, since the watch event is still in flight. Comparing against that stale
 * status would record the same transition Event twice and write the status again with a new
 * lastTransitionTime. `fresh()` substitutes the written status until the cache catches up (same
 * resourceVersion or same status), for at most `maxAgeMs`, after which the cache is trusted again.
 */
export class StatusWrites {
  readonly #written = new Map<string, Written>();
  readonly #maxAgeMs: number;
  readonly #now: () => number;

  constructor(options: { maxAgeMs?: number; now?: () => number } = {}) {
    this.#maxAgeMs = options.maxAgeMs ?? 30_000;
    this.#now = options.now ?? Date.now;
  }

  /** `obj` (from the cache) with the newest status known to this process. */
  fresh<T extends WithStatus>(obj: T): T {
    const key = keyOf(obj);
    const w = this.#written.get(key);
    if (!w) return obj;
    const caughtUp =
      w.uid !== obj.metadata?.uid ||
      w.resourceVersion === obj.metadata?.resourceVersion ||
      semanticEqual(w.status, obj.status) ||
      this.#now() - w.at > this.#maxAgeMs;
    if (caughtUp) {
      this.#written.delete(key);
      return obj;
    }
    return { ...obj, status: w.status };
  }

  /** `written` is the object as the API server returned it from the status write. */
  record(written: WithStatus): void {
    this.#written.set(keyOf(written), {
      uid: written.metadata?.uid,
      resourceVersion: written.metadata?.resourceVersion,
      status: written.status,
      at: this.#now(),
    });
  }

  forget(key: string): void {
    this.#written.delete(key);
  }

  get size(): number {
    return this.#written.size;
  }
}

/**
 * Writes `status` (plus observedGeneration) to the status subresource only when it differs from
 * what `obj` (the cached object) already has, so a steady state costs no API writes. Returns whether
 * it wrote. `status` must be complete: fields the operator set before and omits now are removed.
 * With `writes`, the written status is remembered until the cache shows it (see StatusWrites); pass
 * `writes.fresh(cached)` as `obj`.
 */
export async function updateStatus<S extends object>(
  client: KubeClient,
  obj: WithStatus,
  status: S,
  writes?: StatusWrites,
): Promise<boolean> {
  const next = desiredStatus(obj, status);
  if (!statusChanged(obj.status, next)) return false;
  const { apiVersion, kind, metadata } = obj;
  const written = await applyStatus<WithStatus>(client, {
    apiVersion,
    kind,
    metadata: { name: metadata?.name, namespace: metadata?.namespace },
    status: next,
  });
  writes?.record(written);
  return true;
}
