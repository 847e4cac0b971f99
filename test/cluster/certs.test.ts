import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureCerts, extensionsOf, leafSpecs, subjectOf } from './certs.ts';

describe('certificate specs', () => {
  it.each([
    [{ commonName: 'prognos-admin', organization: 'system:masters' }, '/O=system:masters/CN=prognos-admin'],
    [{ commonName: 'system:kube-controller-manager' }, '/CN=system:kube-controller-manager'],
  ])('subject of %o', (spec, subject) => {
    expect(subjectOf(spec)).toBe(subject);
  });

  it('gives the API server serving usage and every SAN clients use', () => {
    const ext = extensionsOf(leafSpecs.find((s) => s.name === 'apiserver')!);
    expect(ext).toContain('extendedKeyUsage=serverAuth');
    for (const san of [
      'DNS:localhost',
      'DNS:kubernetes',
      'DNS:kubernetes.default.svc',
      'IP:127.0.0.1',
      'IP:10.0.0.1',
    ]) {
      expect(ext).toContain(san);
    }
  });

  it('gives client certificates client usage and no SANs', () => {
    const ext = extensionsOf(leafSpecs.find((s) => s.name === 'admin')!);
    expect(ext).toContain('extendedKeyUsage=clientAuth');
    expect(ext).not.toContain('subjectAltName');
  });
});

describe('ensureCerts (openssl)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prognos-certs-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const openssl = (...args: string[]): string => execFileSync('openssl', args, { encoding: 'utf8' });

  it('issues certificates that verify against the CA, with the right subjects', async () => {
    const c = await ensureCerts(dir);
    for (const cert of [c.apiServerCert, c.adminCert, c.controllerManagerCert]) {
      expect(openssl('verify', '-CAfile', c.caCert, cert)).toContain('OK');
    }
    expect(openssl('x509', '-in', c.adminCert, '-noout', '-subject')).toMatch(/O ?= ?system:masters/);
    expect(openssl('x509', '-in', c.controllerManagerCert, '-noout', '-subject')).toContain(
      'system:kube-controller-manager',
    );
    expect(openssl('x509', '-in', c.apiServerCert, '-noout', '-ext', 'subjectAltName')).toContain(
      'IP Address:10.0.0.1',
    );
    expect(openssl('pkey', '-pubin', '-in', c.serviceAccountPub, '-noout', '-text')).toContain('2048 bit');
  });

  it('reuses what exists', async () => {
    const first = await ensureCerts(dir);
    const before = statSync(first.adminCert).mtimeMs;
    await ensureCerts(dir);
    expect(statSync(first.adminCert).mtimeMs).toBe(before);
  });

  it('re-issues leaves when the CA is replaced', async () => {
    const c = await ensureCerts(dir);
    rmSync(c.caCert);
    await ensureCerts(dir);
    expect(openssl('verify', '-CAfile', c.caCert, c.adminCert)).toContain('OK');
  });
});
