import type { V1Pod, V1Volume } from '@kubernetes/client-node';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ReferencedData } from './env.ts';
import { volumeContent, writeVolume, type VolumeContent } from './volumes.ts';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const pod: V1Pod = {
  metadata: { name: 'p', namespace: 'ns', uid: 'u', labels: { b: '2', a: '1' } },
  spec: { containers: [{ name: 'main', resources: { limits: { memory: '64Mi' } } }] },
};
const data: ReferencedData = {
  configMaps: new Map([['cfg', { 'a.yaml': 'x: 1', 'b.txt': 'b' }]]),
  secrets: new Map([['tls', { 'tls.key': b64('KEY') }]]),
  tokens: new Map([['', 'jwt']]),
};
const addr = { podIP: '127.0.1.9', hostIP: '127.0.0.1' };
const allocatable = { cpu: 2, memory: 2 ** 33, 'ephemeral-storage': 2 ** 40 };
const content = (v: Omit<V1Volume, 'name'>): VolumeContent =>
  volumeContent(pod, { name: 'v', ...v }, data, addr, allocatable);
const files = (v: Omit<V1Volume, 'name'>): Record<string, string> => {
  const c = content(v);
  if (c.kind !== 'files') throw new Error(JSON.stringify(c));
  return Object.fromEntries(c.files.map((f) => [f.path, f.content.toString()]));
};

describe('volumeContent', () => {
  it.each<[string, Omit<V1Volume, 'name'>, Record<string, string>]>([
    ['configMap, all keys', { configMap: { name: 'cfg' } }, { 'a.yaml': 'x: 1', 'b.txt': 'b' }],
    [
      'configMap items',
      { configMap: { name: 'cfg', items: [{ key: 'a.yaml', path: 'conf/app.yaml' }] } },
      { 'conf/app.yaml': 'x: 1' },
    ],
    ['optional missing configMap', { configMap: { name: 'nope', optional: true } }, {}],
    ['secret, decoded', { secret: { secretName: 'tls' } }, { 'tls.key': 'KEY' }],
    [
      'downwardAPI',
      {
        downwardAPI: {
          items: [
            { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
            { path: 'name', fieldRef: { fieldPath: 'metadata.name' } },
            {
              path: 'mem',
              resourceFieldRef: { containerName: 'main', resource: 'limits.memory', divisor: '1Mi' },
            },
          ],
        },
      },
      { labels: 'a="1"\nb="2"', name: 'p', mem: '64' },
    ],
    [
      'projected (the service account volume shape)',
      {
        projected: {
          sources: [
            { serviceAccountToken: { path: 'token', expirationSeconds: 3607 } },
            { configMap: { name: 'cfg', items: [{ key: 'b.txt', path: 'ca.crt' }] } },
            {
              downwardAPI: { items: [{ path: 'namespace', fieldRef: { fieldPath: 'metadata.namespace' } }] },
            },
          ],
        },
      },
      { token: 'jwt', 'ca.crt': 'b', namespace: 'ns' },
    ],
  ])('%s', (_name, volume, expected) => expect(files(volume)).toEqual(expected));

  it.each<[string, Omit<V1Volume, 'name'>, RegExp]>([
    ['missing configMap', { configMap: { name: 'nope' } }, /volume "v": configmap "nope" not found/],
    ['missing key', { configMap: { name: 'cfg', items: [{ key: 'zzz', path: 'z' }] } }, /key zzz not found/],
    ['missing secret', { secret: { secretName: 'nope' } }, /secret "nope" not found/],
    ['unsupported type', { nfs: { server: 's', path: '/' } }, /unsupported volume type/],
  ])('reports %s', (_name, volume, message) => {
    const c = content(volume);
    expect(c.kind).toBe('error');
    expect(c.kind === 'error' && c.message).toMatch(message);
  });

  it('passes emptyDir and hostPath through', () => {
    expect(content({ emptyDir: {} })).toEqual({ kind: 'emptyDir' });
    expect(content({ hostPath: { path: '/tmp/x' } })).toEqual({ kind: 'hostPath', path: '/tmp/x' });
  });
});

describe('writeVolume', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes files with modes, reports changes, and removes files that left the volume', () => {
    dir = mkdtempSync(join(tmpdir(), 'vol-'));
    const f = (path: string, text: string, mode = 0o644) => ({ path, content: Buffer.from(text), mode });
    expect(writeVolume(dir, [f('a', '1'), f('sub/b', '2', 0o600)])).toBe(true);
    expect(readFileSync(join(dir, 'sub/b'), 'utf8')).toBe('2');
    expect(statSync(join(dir, 'sub/b')).mode & 0o777).toBe(0o600);
    expect(writeVolume(dir, [f('a', '1'), f('sub/b', '2', 0o600)])).toBe(false);
    expect(writeVolume(dir, [f('a', 'changed')])).toBe(true);
    expect(readFileSync(join(dir, 'a'), 'utf8')).toBe('changed');
    expect(readdirSync(join(dir, 'sub'))).toEqual([]);
  });
});
