import { createHash } from 'node:crypto';
import type { KubernetesObject } from '@kubernetes/client-node';
import { quantityValue } from './quantity.ts';

/**
 * Annotation carrying a digest of the operator's whole intent for a child (see `withIntentHash`). A
 * field the intent stops setting (a volume removed from the spec, say) leaves the desired ⊆ live check
 * satisfied, but changes the digest, so the apply that removes it still happens.
 */
export const INTENT_HASH_ANNOTATION = 'prognos.dev/intent-hash';

/** Keys that identify an item of a Kubernetes list (its merge key in practice), in order of preference. */
const ITEM_KEYS = ['uid', 'name'] as const;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Digest of an intent: JSON of the object as built (the builders are deterministic). */
export function intentHash(obj: unknown): string {
  return createHash('sha256').update(JSON.stringify(obj)).digest('hex').slice(0, 16);
}

/** `obj` with its intent digest in metadata.annotations[INTENT_HASH_ANNOTATION] (a copy; obj is not changed). */
export function withIntentHash<T extends KubernetesObject>(obj: T): T {
  const metadata = obj.metadata ?? {};
  return {
    ...obj,
    metadata: {
      ...metadata,
      annotations: { ...metadata.annotations, [INTENT_HASH_ANNOTATION]: intentHash(obj) },
    },
  };
}

/** The API server canonicalizes quantities ("0.5" → "500m"): under requests/limits, compare values. */
function scalarEqual(desired: unknown, live: unknown, quantities: boolean): boolean {
  if (desired === live) return true;
  if (!quantities) return false;
  const d = quantityValue(desired);
  const l = quantityValue(live);
  return d !== undefined && l !== undefined && Math.abs(d - l) <= Math.abs(d) * 1e-9;
}

function itemKey(item: Record<string, unknown>): [string, unknown] | undefined {
  for (const k of ITEM_KEYS) if (typeof item[k] === 'string') return [k, item[k]];
  return undefined;
}

function listContains(desired: unknown[], live: unknown): boolean {
  if (!Array.isArray(live)) return false;
  if (desired.every(isRecord)) {
    const keyed = desired.map(itemKey);
    if (keyed.every((k) => k !== undefined)) {
      // A map-like list (containers, env, volumes, ports by name, ownerReferences by uid): each desired
      // item must be in live, wherever it is; items others added are theirs (apply would not remove them).
      return desired.every((d, i) => {
        const [k, v] = keyed[i]!;
        const match = live.find((l) => isRecord(l) && l[k] === v);
        return match !== undefined && contains(d, match, undefined);
      });
    }
  }
  // Atomic lists (command, args, capabilities.drop) and lists without keys: same length, item by item.
  return desired.length === live.length && desired.every((d, i) => contains(d, live[i], undefined));
}

/** `key`: the field `desired` is the value of (its values are quantities under requests/limits). */
function contains(desired: unknown, live: unknown, key: string | undefined, quantities = false): boolean {
  if (desired === undefined) return true;
  if (desired === null) return live === undefined || live === null;
  if (Array.isArray(desired)) return listContains(desired, live);
  if (isRecord(desired)) {
    if (!isRecord(live)) return false;
    const q = key === 'requests' || key === 'limits';
    for (const [k, v] of Object.entries(desired)) if (!contains(v, live[k], k, q)) return false;
    return true;
  }
  return scalarEqual(desired, live, quantities);
}

/**
 * Whether server-side applying `desired` could change `live` (the cached object): true when live is
 * missing or some field the operator sets differs from or is absent in live. Only the desired fields
 * are compared (desired ⊆ live), so fields the server defaults (imagePullPolicy, clusterIP,
 * terminationMessagePath…) or other managers own do not count. Lists of items with a `uid` or `name`
 * match by that key; other lists must match item by item. apiVersion and kind are not compared (list
 * responses leave them out of items). Pair it with `withIntentHash` so a field dropped from the intent
 * (which desired ⊆ live cannot see) still leads to an apply.
 */
export function needsApply(desired: KubernetesObject, live: KubernetesObject | undefined): boolean {
  if (!live) return true;
  if (live.metadata?.deletionTimestamp) return true;
  for (const [k, v] of Object.entries(desired))
    if (k !== 'apiVersion' && k !== 'kind' && !contains(v, (live as Record<string, unknown>)[k], k))
      return true;
  return false;
}
