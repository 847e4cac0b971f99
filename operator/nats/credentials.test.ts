import { describe, expect, it } from 'vitest';
import type { V1Secret } from '@kubernetes/client-node';
import { NatsSecretError, resolveNatsTarget } from './credentials.ts';
import { connectionOptions, poolKey } from './pool.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const secrets: Record<string, V1Secret> = {
  'ns/creds': { data: { 'nats.creds': b64('CREDS') } },
  'ns/tls': { data: { 'ca.crt': b64('CA'), 'tls.crt': b64('CRT'), 'tls.key': b64('KEY') } },
  'ns/half-tls': { data: { 'tls.crt': b64('CRT') } },
};
const read = async (ns: string, name: string) => secrets[`${ns}/${name}`];

describe('resolveNatsTarget', () => {
  it.each([
    ['no secrets', { url: 'nats://a:4222' }, { url: 'nats://a:4222' }],
    [
      'credentials',
      { url: 'nats://a:4222', credentialsSecretRef: { name: 'creds', key: 'nats.creds' } },
      { url: 'nats://a:4222', credentials: 'CREDS' },
    ],
    [
      'tls',
      { url: 'tls://a:4222', tlsSecretRef: { name: 'tls' } },
      { url: 'tls://a:4222', tls: { ca: 'CA', cert: 'CRT', key: 'KEY' } },
    ],
  ])('%s', async (_, spec, want) => {
    expect(await resolveNatsTarget(spec, 'ns', read)).toEqual(want);
  });

  it.each([
    [{ url: 'nats://a', credentialsSecretRef: { name: 'missing', key: 'k' } }, /ns\/missing not found/],
    [{ url: 'nats://a', credentialsSecretRef: { name: 'creds', key: 'other' } }, /has no key other/],
    [{ url: 'nats://a', tlsSecretRef: { name: 'half-tls' } }, /both tls.crt and tls.key/],
  ])('refuses %j', async (spec, message) => {
    await expect(resolveNatsTarget(spec, 'ns', read)).rejects.toThrow(NatsSecretError);
    await expect(resolveNatsTarget(spec, 'ns', read)).rejects.toThrow(message);
  });
});

describe('pool keys and options', () => {
  it('shares a connection per URL and credentials, never exposing the secret', () => {
    const a = poolKey({ url: 'nats://a', credentials: 'X' });
    expect(a).toBe(poolKey({ url: 'nats://a', credentials: 'X' }));
    expect(a).not.toBe(poolKey({ url: 'nats://a', credentials: 'Y' }));
    expect(a).not.toContain('X');
  });
  it('reconnects forever and maps TLS material', () => {
    const opts = connectionOptions({ url: 'tls://a', tls: { ca: 'CA' } }, 'op');
    expect(opts).toMatchObject({
      servers: 'tls://a',
      name: 'op',
      maxReconnectAttempts: -1,
      tls: { ca: 'CA' },
    });
  });
});
