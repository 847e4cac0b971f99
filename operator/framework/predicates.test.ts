import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  fieldsChanged,
  generationChanged,
  labelsOrAnnotationsChanged,
  or,
  ownedMetadataChanged,
} from './predicates.ts';
import type { Delta } from './store.ts';

const o = (metadata: KubernetesObject['metadata']): KubernetesObject => ({
  metadata: { name: 'a', ...metadata },
});
const upd = (old: KubernetesObject['metadata'], obj: KubernetesObject['metadata']): Delta => ({
  type: 'update',
  old: o(old),
  obj: o(obj),
});

describe('predicates', () => {
  it.each([
    ['add', { type: 'add', obj: o({}) } as Delta, true],
    ['delete', { type: 'delete', obj: o({}) } as Delta, true],
    [
      'status-only update',
      upd({ generation: 1, resourceVersion: '1' }, { generation: 1, resourceVersion: '2' }),
      false,
    ],
    ['spec change', upd({ generation: 1 }, { generation: 2 }), true],
    ['deletion starts', upd({ generation: 1 }, { generation: 1, deletionTimestamp: new Date() }), true],
  ])('generationChanged: %s → %s', (_n, d, want) => expect(generationChanged(d)).toBe(want));

  it.each([
    ['label added', upd({}, { labels: { a: '1' } }), true],
    ['annotation changed', upd({ annotations: { a: '1' } }, { annotations: { a: '2' } }), true],
    ['nothing', upd({ labels: { a: '1' } }, { labels: { a: '1' } }), false],
  ])('labelsOrAnnotationsChanged: %s → %s', (_n, d, want) =>
    expect(labelsOrAnnotationsChanged(d)).toBe(want),
  );

  it('or combines', () => {
    const d = upd({ generation: 1 }, { generation: 1, labels: { x: 'y' } });
    expect(generationChanged(d)).toBe(false);
    expect(or(generationChanged, labelsOrAnnotationsChanged)(d)).toBe(true);
  });
});

describe('ownedMetadataChanged and fieldsChanged', () => {
  const dep = (metadata: KubernetesObject['metadata'], status: Record<string, unknown>) =>
    ({ metadata: { name: 'd', ...metadata }, status }) as KubernetesObject;
  const ready = fieldsChanged('status.readyReplicas', 'status.observedGeneration');
  it.each([
    ['label edited', { labels: { a: '1' } }, { labels: { a: '2' } }, true],
    ['annotation removed', { annotations: { a: '1' } }, {}, true],
    [
      'ownerReferences changed',
      { ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'x', uid: '1' }] },
      {},
      true,
    ],
    ['deletion started', {}, { deletionTimestamp: new Date(0) }, true],
    ['resourceVersion only', { resourceVersion: '1' }, { resourceVersion: '2' }, false],
  ])('ownedMetadataChanged: %s → %s', (_n, old, obj, want) => {
    expect(ownedMetadataChanged({ type: 'update', old: dep(old, {}), obj: dep(obj, {}) })).toBe(want);
  });

  it.each([
    ['readyReplicas moved', { readyReplicas: 0 }, { readyReplicas: 1 }, true],
    ['observedGeneration moved', { observedGeneration: 1 }, { observedGeneration: 2 }, true],
    [
      'only a condition changed (ProgressDeadlineExceeded)',
      { readyReplicas: 0, conditions: [{ type: 'Progressing', status: 'True' }] },
      { readyReplicas: 0, conditions: [{ type: 'Progressing', status: 'False' }] },
      false,
    ],
    ['field appears', {}, { readyReplicas: 1 }, true],
  ])('fieldsChanged: %s', (_n, old, obj, want) => {
    expect(ready({ type: 'update', old: dep({}, old), obj: dep({}, obj) })).toBe(want);
  });

  it('passes adds and deletes', () => {
    expect(ready({ type: 'add', obj: dep({}, {}) })).toBe(true);
    expect(ownedMetadataChanged({ type: 'delete', obj: dep({}, {}) })).toBe(true);
  });
});
