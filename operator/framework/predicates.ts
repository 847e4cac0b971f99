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
