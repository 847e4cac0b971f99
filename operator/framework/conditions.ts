export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** A Kubernetes-style condition, as metav1.Condition. */
export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

export type ConditionInput = Omit<Condition, 'lastTransitionTime'>;

/**
 * RFC 3339 with whole seconds, exactly as the API server serializes metav1.Time. Anything finer would
 * read back differently and make every status look changed.
 */
export function rfc3339(date: Date): string {
  return new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * Returns a new list with `cond` set. lastTransitionTime moves only when the status flips, so a
 * reconcile that changes nothing writes nothing. Order is kept; new types are appended.
 */
export function setCondition(
  list: readonly Condition[] | undefined,
  cond: ConditionInput,
  now: Date,
): Condition[] {
  const current = list ?? [];
  const existing = current.find((c) => c.type === cond.type);
  const lastTransitionTime =
    existing && existing.status === cond.status ? existing.lastTransitionTime : rfc3339(now);
  const next: Condition = { ...cond, lastTransitionTime };
  if (!existing) return [...current, next];
  return current.map((c) => (c.type === cond.type ? next : c));
}

export function getCondition(list: readonly Condition[] | undefined, type: string): Condition | undefined {
  return list?.find((c) => c.type === type);
}

export function isConditionTrue(list: readonly Condition[] | undefined, type: string): boolean {
  return getCondition(list, type)?.status === 'True';
}

/**
 * Semantic equality of two JSON values: key order does not matter, and a property that is undefined,
 * null or absent is the same absence (the API server prunes them). Array order matters.
 */
export function semanticEqual(a: unknown, b: unknown): boolean {
  if (a === b || (a == null && b == null)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => semanticEqual(v, b[i]));
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ra), ...Object.keys(rb)]);
  for (const k of keys) {
    if (!semanticEqual(ra[k], rb[k])) return false;
  }
  return true;
}

/** Whether writing `next` over `current` would change the stored status. */
export function statusChanged(current: unknown, next: unknown): boolean {
  return !semanticEqual(current ?? {}, next ?? {});
}
