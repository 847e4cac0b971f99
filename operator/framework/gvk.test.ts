import { describe, expect, it } from 'vitest';
import {
  collectionPath,
  groupOf,
  keyOf,
  objectPath,
  sameGroupKind,
  splitKey,
  type ResourceInfo,
} from './gvk.ts';

const deployments: ResourceInfo = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  plural: 'deployments',
  namespaced: true,
};
const configMaps: ResourceInfo = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  plural: 'configmaps',
  namespaced: true,
};
const nodes: ResourceInfo = { apiVersion: 'v1', kind: 'Node', plural: 'nodes', namespaced: false };

describe('gvk', () => {
  it.each([
    ['v1', ''],
    ['apps/v1', 'apps'],
    ['prognos.dev/v1alpha1', 'prognos.dev'],
  ])('groupOf(%s) = %j', (apiVersion, group) => expect(groupOf(apiVersion)).toBe(group));

  it.each([
    [deployments, 'ns', '/apis/apps/v1/namespaces/ns/deployments'],
    [deployments, undefined, '/apis/apps/v1/deployments'],
    [configMaps, 'ns', '/api/v1/namespaces/ns/configmaps'],
    [nodes, 'ignored', '/api/v1/nodes'],
  ])('collectionPath %#', (res, ns, path) => expect(collectionPath(res, ns)).toBe(path));

  it('builds object and subresource paths', () => {
    expect(objectPath(deployments, 'ns', 'web', 'status')).toBe(
      '/apis/apps/v1/namespaces/ns/deployments/web/status',
    );
    expect(objectPath(nodes, undefined, 'n1')).toBe('/api/v1/nodes/n1');
    expect(() => objectPath(deployments, undefined, 'web')).toThrow(/namespace is required/);
  });

  it('keys objects like client-go', () => {
    expect(keyOf({ metadata: { namespace: 'a', name: 'b' } })).toBe('a/b');
    expect(keyOf({ metadata: { name: 'n1' } })).toBe('n1');
    expect(splitKey('a/b')).toEqual({ namespace: 'a', name: 'b' });
    expect(splitKey('n1')).toEqual({ name: 'n1' });
  });

  it('compares kinds across versions of a group', () => {
    expect(
      sameGroupKind(
        { apiVersion: 'apps/v1', kind: 'Deployment' },
        { apiVersion: 'apps/v1beta1', kind: 'Deployment' },
      ),
    ).toBe(true);
    expect(
      sameGroupKind(
        { apiVersion: 'apps/v1', kind: 'Deployment' },
        { apiVersion: 'extensions/v1', kind: 'Deployment' },
      ),
    ).toBe(false);
  });
});
