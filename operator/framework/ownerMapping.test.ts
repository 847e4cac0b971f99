import type { KubernetesObject, V1OwnerReference } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { controllerOwnerKey, controllerReference } from './ownerMapping.ts';

const mm = { apiVersion: 'prognos.dev/v1alpha1', kind: 'MaintenanceModel' };
const ref = (over: Partial<V1OwnerReference>): V1OwnerReference => ({
  ...mm,
  name: 'pump',
  uid: 'u1',
  controller: true,
  ...over,
});
const dep = (ownerReferences?: V1OwnerReference[]): KubernetesObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'pump-v3', namespace: 'plant', ownerReferences },
});

describe('controllerOwnerKey', () => {
  it.each([
    { name: 'controller ref of the kind', obj: dep([ref({})]), want: 'plant/pump' },
    {
      name: 'other version of the same group',
      obj: dep([ref({ apiVersion: 'prognos.dev/v1' })]),
      want: 'plant/pump',
    },
    { name: 'non-controller ref', obj: dep([ref({ controller: false })]), want: undefined },
    { name: 'controller=undefined', obj: dep([ref({ controller: undefined })]), want: undefined },
    { name: 'controller of another kind', obj: dep([ref({ kind: 'SensorFleet' })]), want: undefined },
    {
      name: 'same kind, other group',
      obj: dep([ref({ apiVersion: 'other.dev/v1alpha1' })]),
      want: undefined,
    },
    {
      name: 'picks the controller among several refs',
      obj: dep([ref({ name: 'a', controller: false }), ref({ name: 'b' })]),
      want: 'plant/b',
    },
    { name: 'no owner references', obj: dep(), want: undefined },
  ])('$name', ({ obj, want }) => expect(controllerOwnerKey(obj, mm, true)).toBe(want));

  it('keys a cluster-scoped owner by name', () => {
    expect(controllerOwnerKey(dep([ref({})]), mm, false)).toBe('pump');
  });
});

describe('controllerReference', () => {
  it('builds a blocking controller reference', () => {
    const owner = { ...mm, metadata: { name: 'pump', namespace: 'plant', uid: 'u1' } };
    expect(controllerReference(owner)).toEqual({
      ...mm,
      name: 'pump',
      uid: 'u1',
      controller: true,
      blockOwnerDeletion: true,
    });
    expect(() => controllerReference({ ...mm, metadata: { name: 'pump' } })).toThrow(/uid/);
  });
});
