import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderKubeconfig } from './kubeconfig.ts';

describe('renderKubeconfig', () => {
  const doc = parse(
    renderKubeconfig({
      name: 'prognos',
      server: 'https://127.0.0.1:6443',
      caPem: 'CA',
      clientCertPem: 'CERT',
      clientKeyPem: 'KEY',
    }),
  );
  const decode = (s: string): string => Buffer.from(s, 'base64').toString();

  it('points its only context at the server with the embedded CA', () => {
    expect(doc['current-context']).toBe('prognos');
    expect(doc.contexts).toEqual([
      { name: 'prognos', context: { cluster: 'prognos', user: 'prognos', namespace: 'default' } },
    ]);
    expect(doc.clusters[0].cluster.server).toBe('https://127.0.0.1:6443');
    expect(decode(doc.clusters[0].cluster['certificate-authority-data'])).toBe('CA');
  });

  it('embeds the client certificate and key', () => {
    expect(decode(doc.users[0].user['client-certificate-data'])).toBe('CERT');
    expect(decode(doc.users[0].user['client-key-data'])).toBe('KEY');
  });
});
