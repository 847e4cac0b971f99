import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { generationChanged, labelsOrAnnotationsChanged, or } from './predicates.ts';
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
