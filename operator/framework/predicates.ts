import type { Delta } from './store.ts';

/** Decides whether a change is worth a reconcile. */
export type Predicate = (delta: Delta) => boolean;

/**
 * Passes creates, deletes, spec changes (metadata.generation moves) and the start of a deletion (so
 * finalizers run), and drops status-only updates and resyncs, so a controller is not woken by its
 * own status writes. Not for kinds without a generation (ConfigMaps, Secrets): it never moves.
 */
export const generationChanged: Predicate = (d) =>
  d.type !== 'update' ||
  d.old.metadata?.generation !== d.obj.metadata?.generation ||
  !d.old.metadata?.deletionTimestamp !== !d.obj.metadata?.deletionTimestamp;

/** Passes updates only when labels or annotations changed (plus creates and deletes). */
export const labelsOrAnnotationsChanged: Predicate = (d) =>
  d.type !== 'update' ||
  JSON.stringify(d.old.metadata?.labels) !== JSON.stringify(d.obj.metadata?.labels) ||
  JSON.stringify(d.old.metadata?.annotations) !== JSON.stringify(d.obj.metadata?.annotations);

export const or =
  (...ps: Predicate[]): Predicate =>
  (d) =>
    ps.some((p) => p(d));

const json = (v: unknown) => JSON.stringify(v);

/**
 * Passes updates that change what an owner sets on its children's metadata (labels, annotations,
 * ownerReferences) or start their deletion, plus creates and deletes. Metadata edits do not move
 * metadata.generation, so a drift-repairing owner needs this next to `generationChanged`.
 */
export const ownedMetadataChanged: Predicate = (d) =>
  d.type !== 'update' ||
  json(d.old.metadata?.labels) !== json(d.obj.metadata?.labels) ||
  json(d.old.metadata?.annotations) !== json(d.obj.metadata?.annotations) ||
  json(d.old.metadata?.ownerReferences) !== json(d.obj.metadata?.ownerReferences) ||
  !d.old.metadata?.deletionTimestamp !== !d.obj.metadata?.deletionTimestamp;

const at = (obj: unknown, path: readonly string[]): unknown =>
  path.reduce<unknown>(
    (v, k) => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined),
    obj,
  );

/**
 * Passes updates where one of these dotted paths (e.g. "status.readyReplicas") changed, plus creates
 * and deletes: a controller that reads a few status fields of a child is not woken by the others
 * (conditions' heartbeat, ProgressDeadlineExceeded, …).
 */
export function fieldsChanged(...paths: string[]): Predicate {
  const split = paths.map((p) => p.split('.'));
  return (d) => d.type !== 'update' || split.some((p) => json(at(d.old, p)) !== json(at(d.obj, p)));
}
