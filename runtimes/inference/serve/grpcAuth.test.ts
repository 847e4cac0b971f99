import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  bearerToken,
  gateVerdict,
  jwtVerifier,
  type Authentication,
  type JwtAuthConfig,
} from './grpcAuth.ts';

const ISSUER = 'https://issuer.test';
const AUDIENCE = 'prognos';

describe('bearerToken', () => {
  it.each<[string[], string]>([
    [[], 'missing bearer token'],
    [['Basic dXNlcjpwdw=='], 'is not "Bearer <jwt>"'],
    [['Bearer'], 'is not "Bearer <jwt>"'],
    [['Bearer a b'], 'is not "Bearer <jwt>"'],
    [['Bearer a', 'Bearer b'], 'more than one'],
  ])('%j → %s', (values, reason) => {
    expect(bearerToken(values)).toEqual({ reason: expect.stringContaining(reason) as string });
  });
  it('takes the token, case-insensitively on the scheme', () => {
    expect(bearerToken(['Bearer abc.def.ghi'])).toEqual({ token: 'abc.def.ghi' });
    expect(bearerToken(['bearer abc'])).toEqual({ token: 'abc' });
  });
});

describe('gateVerdict', () => {
  const allow = () => true;
  const deny = () => false;
  const ok: Authentication = { ok: true, subject: 'system:serviceaccount:plant-a:dashboard' };
  const expired: Authentication = { ok: false, code: grpc.status.UNAUTHENTICATED, reason: 'token expired' };
  it.each<[string, Authentication | undefined, ((c: string) => boolean) | undefined, unknown]>([
    [
      'auth off, no limit: the peer is admitted',
      undefined,
      undefined,
      { admit: true, caller: 'peer:10.0.0.7' },
    ],
    ['auth off, limit left', undefined, allow, { admit: true, caller: 'peer:10.0.0.7' }],
    [
      'auth off, over the limit',
      undefined,
      deny,
      {
        admit: false,
        code: grpc.status.RESOURCE_EXHAUSTED,
        details: 'rate limit exceeded for peer:10.0.0.7',
      },
    ],
    [
      'verified: the caller is the subject',
      ok,
      allow,
      { admit: true, caller: 'sub:system:serviceaccount:plant-a:dashboard' },
    ],
    [
      'verified, over the limit',
      ok,
      deny,
      {
        admit: false,
        code: grpc.status.RESOURCE_EXHAUSTED,
        details: 'rate limit exceeded for sub:system:serviceaccount:plant-a:dashboard',
      },
    ],
    [
      'refused token: UNAUTHENTICATED whatever the limit',
      expired,
      allow,
      { admit: false, code: grpc.status.UNAUTHENTICATED, details: 'token expired' },
    ],
  ])('%s', (_, authentication, take, verdict) => {
    expect(gateVerdict(authentication, '10.0.0.7', take)).toEqual(verdict);
  });

  it('does not spend the budget on a refused token', () => {
    const spent: string[] = [];
    gateVerdict({ ok: false, code: grpc.status.UNAUTHENTICATED, reason: 'x' }, '10.0.0.7', (c) => {
      spent.push(c);
      return true;
    });
    expect(spent).toEqual([]);
  });
});

describe('jwtVerifier with a JWKS file', () => {
  let key: CryptoKey;
  let otherKey: CryptoKey;
  let publicJwk: JWK;
  let otherPublicJwk: JWK;
  let dir: string;

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    const other = await generateKeyPair('ES256');
    key = pair.privateKey;
    otherKey = other.privateKey;
    publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    otherPublicJwk = { ...(await exportJWK(other.publicKey)), kid: 'k2', alg: 'ES256', use: 'sig' };
    dir = mkdtempSync(join(tmpdir(), 'prognos-jwks-'));
  });

  const writeJwks = (name: string, keys: JWK[]): string => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify({ keys }));
    return path;
  };
  const config = (jwksFile: string): JwtAuthConfig => ({
    jwksFile,
    issuer: ISSUER,
    audiences: ['other', AUDIENCE],
    clockToleranceSeconds: 30,
  });
  const sign = (
    claims: { iss?: string; aud?: string; sub?: string; exp?: number | string },
    signWith = key,
    kid = 'k1',
  ): Promise<string> => {
    const jwt = new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid }).setIssuedAt();
    if (claims.iss !== undefined) jwt.setIssuer(claims.iss);
    if (claims.aud !== undefined) jwt.setAudience(claims.aud);
    if (claims.sub !== undefined) jwt.setSubject(claims.sub);
    if (claims.exp !== undefined) jwt.setExpirationTime(claims.exp);
    return jwt.sign(signWith);
  };
  const valid = { iss: ISSUER, aud: AUDIENCE, sub: 'alice', exp: '5m' };

  it('accepts a token signed by a JWKS key, with the issuer and an accepted audience', async () => {
    const verifier = jwtVerifier(config(writeJwks('a.json', [publicJwk])));
    expect(await verifier.verify(await sign(valid))).toEqual({ ok: true, subject: 'alice' });
  });

  it.each<[string, () => Promise<string>, string]>([
    ['expired', () => sign({ ...valid, exp: Math.floor(Date.now() / 1000) - 120 }), 'token expired'],
    [
      'wrong audience',
      () => sign({ ...valid, aud: 'someone-else' }),
      'token rejected: unexpected "aud" claim value',
    ],
    [
      'wrong issuer',
      () => sign({ ...valid, iss: 'https://evil.test' }),
      'token rejected: unexpected "iss" claim value',
    ],
    ['no expiry', () => sign({ ...valid, exp: undefined }), 'token rejected: missing required "exp" claim'],
    ['no subject', () => sign({ ...valid, sub: undefined }), 'token rejected: missing required "sub" claim'],
    ['signed by another key under a known kid', () => sign(valid, otherKey), 'signature verification failed'],
    ['signed by an unknown key', () => sign(valid, otherKey, 'k2'), 'no key matches'],
    ['not a JWT', () => Promise.resolve('not-a-jwt'), 'invalid token'],
  ])('refuses a token %s: UNAUTHENTICATED', async (_, token, reason) => {
    const verifier = jwtVerifier(config(writeJwks('a.json', [publicJwk])));
    const result = await verifier.verify(await token());
    expect(result).toMatchObject({ ok: false, code: grpc.status.UNAUTHENTICATED });
    expect((result as { reason: string }).reason).toContain(reason);
  });

  it('allows clock skew within the tolerance', async () => {
    const verifier = jwtVerifier(config(writeJwks('a.json', [publicJwk])));
    const justExpired = await sign({ ...valid, exp: Math.floor(Date.now() / 1000) - 10 });
    expect((await verifier.verify(justExpired)).ok).toBe(true);
  });

  it('picks up a rotated JWKS file and keeps the last good keys over a broken rewrite', async () => {
    const path = writeJwks('rotating.json', [publicJwk]);
    const verifier = jwtVerifier(config(path), 0);
    const rotated = await sign(valid, otherKey, 'k2');
    expect((await verifier.verify(rotated)).ok).toBe(false);
    writeJwks('rotating.json', [publicJwk, otherPublicJwk]);
    expect(await verifier.verify(rotated)).toEqual({ ok: true, subject: 'alice' });
    writeFileSync(path, '{"keys": [');
    expect((await verifier.verify(rotated)).ok).toBe(true);
  });

  it('fails at start on a missing or malformed JWKS file, naming it', () => {
    expect(() => jwtVerifier(config(join(dir, 'missing.json')))).toThrow(
      /grpc\.auth\.jwt\.jwksFile .*missing\.json/,
    );
    const notJwks = join(dir, 'not-jwks.json');
    writeFileSync(notJwks, '{"kty": "EC"}');
    expect(() => jwtVerifier(config(notJwks))).toThrow('not a JWKS');
  });
});
