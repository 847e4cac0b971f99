import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { diffRelist, Store } from './store.ts';

const cm = (name: string, resourceVersion: string, namespace = 'ns'): KubernetesObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace, resourceVersion },
});

describe('diffRelist', () => {
  const known = new Map([
    ['ns/a', cm('a', '1')],
    ['ns/b', cm('b', '2')],
    ['ns/c', cm('c', '3')],
  ]);
  it.each([
    { name: 'nothing changed', listed: [cm('a', '1'), cm('b', '2'), cm('c', '3')], want: [] },
    { name: 'added', listed: [cm('a', '1'), cm('b', '2'), cm('c', '3'), cm('d', '9')], want: [['add', 'd']] },
    { name: 'updated', listed: [cm('a', '1'), cm('b', '7'), cm('c', '3')], want: [['update', 'b']] },
    {
      name: 'deleted during a disconnect',
      listed: [cm('a', '1')],
      want: [
        ['delete', 'b'],
        ['delete', 'c'],
      ],
    },
    {
      name: 'same name, other namespace',
      listed: [cm('a', '1', 'other')],
      want: [
        ['add', 'a'],
        ['delete', 'a'],
        ['delete', 'b'],
        ['delete', 'c'],
      ],
    },
    {
      name: 'everything gone',
      listed: [],
      want: [
        ['delete', 'a'],
        ['delete', 'b'],
        ['delete', 'c'],
      ],
    },
  ])('$name', ({ listed, want }) => {
    expect(diffRelist(known, listed).map((d) => [d.type, d.obj.metadata?.name])).toEqual(want);
  });

  it('reports deletes with the last known state and updates with the old object', () => {
    const [upd, del] = diffRelist(known, [cm('a', '5'), cm('b', '2')]);
    expect(upd).toEqual({ type: 'update', old: cm('a', '1'), obj: cm('a', '5') });
    expect(del).toEqual({ type: 'delete', obj: cm('c', '3') });
  });
});

describe('Store', () => {
  it('applies watch events and ignores replays of the same resourceVersion', () => {
    const s = new Store();
    expect(s.apply({ type: 'ADDED', object: cm('a', '1') })).toEqual({ type: 'add', obj: cm('a', '1') });
    expect(s.apply({ type: 'ADDED', object: cm('a', '1') })).toBeUndefined();
    expect(s.apply({ type: 'MODIFIED', object: cm('a', '2') })?.type).toBe('update');
    expect(s.apply({ type: 'BOOKMARK', object: cm('', '3') })).toBeUndefined();
    expect(s.get('ns/a')?.metadata?.resourceVersion).toBe('2');
    expect(s.apply({ type: 'DELETED', object: cm('a', '4') })?.type).toBe('delete');
    expect(s.size).toBe(0);
  });

  it('replace swaps the content and returns the diff', () => {
    const s = new Store();
    s.replace([cm('a', '1'), cm('b', '1')]);
    const deltas = s.replace([cm('b', '2'), cm('c', '1')]);
    expect(deltas.map((d) => d.type).sort()).toEqual(['add', 'delete', 'update']);
    expect(s.list().map((o) => o.metadata?.name)).toEqual(['b', 'c']);
  });
});
