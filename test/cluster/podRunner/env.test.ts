import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { referencedObjects, resolveEnv, type ReferencedData } from './env.ts';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const addr = { podIP: '127.0.3.4', hostIP: '127.0.0.1' };
const allocatable = { cpu: 2, memory: 8 * 2 ** 30, 'ephemeral-storage': 2 ** 40 };
const data: ReferencedData = {
  configMaps: new Map([['cfg', { LEVEL: 'debug', 'bad key': 'x', URL: 'nats://$(POD_IP)' }]]),
  secrets: new Map([['creds', { token: b64('s3cret') }]]),
  tokens: new Map(),
};

function pod(container: V1Container): V1Pod {
  return {
    metadata: { name: 'p-1', namespace: 'ns', uid: 'u-1', labels: { app: 'x' }, annotations: { a: 'b' } },
    spec: { nodeName: 'prognos-local', serviceAccountName: 'sa', containers: [container] },
  };
}

function resolve(c: Partial<V1Container>): Record<string, string> | string {
  const container = { name: 'main', ...c } as V1Container;
  const r = resolveEnv(pod(container), container, addr, allocatable, data);
  return r.ok ? Object.fromEntries(r.env) : r.message;
}

describe('resolveEnv', () => {
  it('resolves downward API fields', () => {
    const field = (name: string, fieldPath: string) => ({ name, valueFrom: { fieldRef: { fieldPath } } });
    expect(
      resolve({
        env: [
          field('POD_IP', 'status.podIP'),
          field('HOST_IP', 'status.hostIP'),
          field('NAME', 'metadata.name'),
          field('NS', 'metadata.namespace'),
          field('UID', 'metadata.uid'),
          field('APP', "metadata.labels['app']"),
          field('ANN', "metadata.annotations['a']"),
          field('NODE', 'spec.nodeName'),
          field('SA', 'spec.serviceAccountName'),
        ],
      }),
    ).toEqual({
      POD_IP: '127.0.3.4',
      HOST_IP: '127.0.0.1',
      NAME: 'p-1',
      NS: 'ns',
      UID: 'u-1',
      APP: 'x',
      ANN: 'b',
      NODE: 'prognos-local',
      SA: 'sa',
    });
  });

  it('expands $(VAR) against earlier variables only, and lets later entries win', () => {
    expect(
      resolve({
        env: [
          { name: 'A', value: '$(B)-x' },
          { name: 'B', value: 'b' },
          { name: 'C', value: '$(B)-$(A)' },
          { name: 'B', value: 'override' },
        ],
      }),
    ).toEqual({ A: '$(B)-x', B: 'override', C: 'b-$(B)-x' });
  });

  it('reads configMap and secret keys, envFrom with prefix, and skips invalid names', () => {
    expect(
      resolve({
        envFrom: [{ configMapRef: { name: 'cfg' }, prefix: 'CFG_' }, { secretRef: { name: 'creds' } }],
        env: [
          { name: 'LVL', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'LEVEL' } } },
          { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'creds', key: 'token' } } },
          { name: 'OPT', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k', optional: true } } },
        ],
      }),
    ).toEqual({
      CFG_LEVEL: 'debug',
      CFG_URL: 'nats://$(POD_IP)',
      token: 's3cret',
      LVL: 'debug',
      TOKEN: 's3cret',
    });
  });

  it.each([
    [
      { env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k' } } }] },
      'env X: configmap "nope" not found',
    ],
    [
      { env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'creds', key: 'k' } } }] },
      'env X: couldn\'t find key k in secret "creds"',
    ],
    [{ envFrom: [{ secretRef: { name: 'gone' } }] }, 'secret "gone" not found'],
    [
      { env: [{ name: 'X', valueFrom: { fieldRef: { fieldPath: 'spec.bogus' } } }] },
      'env X: unsupported fieldRef spec.bogus',
    ],
  ])('reports a config error: %j', (c, message) => expect(resolve(c)).toBe(message));

  it.each([
    [{ resource: 'limits.cpu' }, { limits: { cpu: '500m' } }, '1'],
    [{ resource: 'limits.cpu', divisor: '1m' }, { limits: { cpu: '500m' } }, '500'],
    [{ resource: 'limits.memory', divisor: '1Mi' }, { limits: { memory: '64Mi' } }, '64'],
    [{ resource: 'limits.cpu' }, {}, '2'],
    [{ resource: 'requests.memory', divisor: '1Mi' }, { limits: { memory: '32Mi' } }, '32'],
    [{ resource: 'requests.cpu' }, {}, '0'],
  ])('resourceFieldRef %j with %j = %s', (ref, resources, value) => {
    expect(resolve({ resources, env: [{ name: 'V', valueFrom: { resourceFieldRef: ref } }] })).toEqual({
      V: value,
    });
  });
});

describe('referencedObjects', () => {
  it('collects names from env, envFrom and (projected) volumes', () => {
    const p = pod({
      name: 'main',
      envFrom: [{ configMapRef: { name: 'a' } }, { secretRef: { name: 's1' } }],
      env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 's2', key: 'k' } } }],
    });
    p.spec!.volumes = [
      { name: 'v1', configMap: { name: 'b' } },
      { name: 'v2', secret: { secretName: 's3' } },
      { name: 'v3', projected: { sources: [{ configMap: { name: 'c' } }, { secret: { name: 's4' } }] } },
    ];
    const r = referencedObjects(p);
    expect([...r.configMaps].sort()).toEqual(['a', 'b', 'c']);
    expect([...r.secrets].sort()).toEqual(['s1', 's2', 's3', 's4']);
  });
});
