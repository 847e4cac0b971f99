// Who may call InferenceService (config grpc.auth and grpc.rateLimit): bearer JWTs verified against
// a JWKS with issuer and audience (OIDC providers, Kubernetes projected ServiceAccount tokens), and a
// per-caller token bucket. It runs as a grpc-js server interceptor in front of InferenceService only:
// grpc.health.v1 and reflection stay open, so probes and grpcurl's `list` need no token.
// Verification uses jose (docs/adr/0008-grpc-auth-with-jose.md).
import { readFileSync, statSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from 'jose';
import { CallerRateLimiter, type RateLimitSpec } from './callerRateLimit.ts';
import type { RuntimeConfig } from '../../../contracts/runtimeConfig.ts';

export type JwtAuthConfig = NonNullable<RuntimeConfig['grpc']['auth']>['jwt'];

/** A verified caller, or why not: UNAUTHENTICATED for the token's fault, UNAVAILABLE when the keys cannot be had. */
export type Authentication =
  | { ok: true; subject: string }
  | { ok: false; code: grpc.status.UNAUTHENTICATED | grpc.status.UNAVAILABLE; reason: string };

export interface TokenVerifier {
  verify(token: string): Promise<Authentication>;
}

const unauthenticated = (reason: string): Authentication => ({
  ok: false,
  code: grpc.status.UNAUTHENTICATED,
  reason,
});

/** The JWT of the call's `authorization: Bearer <jwt>` metadata, or why there is none. */
export function bearerToken(values: readonly (string | Buffer)[]): { token: string } | { reason: string } {
  if (values.length === 0) return { reason: 'missing bearer token (authorization: Bearer <jwt>)' };
  if (values.length > 1) return { reason: 'more than one authorization header' };
  const match = /^Bearer +([^ ]+) *$/i.exec(values[0]!.toString());
  if (!match) return { reason: 'authorization is not "Bearer <jwt>"' };
  return { token: match[1]! };
}

/** What a failed jwtVerify means for the caller. */
export function authenticationFailure(error: unknown): Authentication {
  if (error instanceof errors.JWTExpired) return unauthenticated('token expired');
  if (error instanceof errors.JWTClaimValidationFailed)
    return unauthenticated(`token rejected: ${error.message}`);
  if (error instanceof errors.JWKSNoMatchingKey)
    return unauthenticated('token not signed by a key of the JWKS (no key matches)');
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return unauthenticated('token not signed by a key of the JWKS (signature verification failed)');
  if (
    error instanceof errors.JWSInvalid ||
    error instanceof errors.JWTInvalid ||
    error instanceof errors.JOSEAlgNotAllowed ||
    error instanceof errors.JOSENotSupported
  )
    return unauthenticated(`invalid token: ${error.message}`);
  // The JWKS could not be fetched or read: not the caller's fault, and worth retrying.
  return {
    ok: false,
    code: grpc.status.UNAVAILABLE,
    reason: `cannot verify tokens now: ${error instanceof Error ? error.message : String(error)}`,
  };
}

/** How often a JWKS file is checked for a change (a mounted Secret is updated in place). */
const JWKS_FILE_CHECK_MS = 5_000;

function parseJwks(path: string): JSONWebKeySet {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`grpc.auth.jwt.jwksFile ${path}: ${(error as Error).message}`, { cause: error });
  }
  if (!doc || typeof doc !== 'object' || !Array.isArray((doc as { keys?: unknown }).keys))
    throw new Error(`grpc.auth.jwt.jwksFile ${path}: not a JWKS (no "keys" array)`);
  return doc as JSONWebKeySet;
}

/**
 * Keys from a JWKS file, read now (an unreadable file fails the start) and again when it changes.
 * A rewrite that does not parse keeps the previous keys, so a rotation caught half-written locks
 * nobody out.
 */
function fileKeySet(path: string, recheckMs: number): JWTVerifyGetKey {
  const stamp = (): string => {
    const st = statSync(path);
    return `${st.mtimeMs}:${st.size}`;
  };
  let keys = createLocalJWKSet(parseJwks(path));
  let loadedStamp = stamp();
  let checkedAt = performance.now();
  return (header, token) => {
    const now = performance.now();
    if (now - checkedAt >= recheckMs) {
      checkedAt = now;
      try {
        const current = stamp();
        if (current !== loadedStamp) {
          keys = createLocalJWKSet(parseJwks(path));
          loadedStamp = current;
        }
      } catch {
        // keep the previous keys
      }
    }
    return keys(header, token);
  };
}

export function jwtVerifier(config: JwtAuthConfig, jwksFileRecheckMs = JWKS_FILE_CHECK_MS): TokenVerifier {
  const keys = config.jwksFile
    ? fileKeySet(config.jwksFile, jwksFileRecheckMs)
    : createRemoteJWKSet(new URL(config.jwksUrl!), { timeoutDuration: 5_000, cooldownDuration: 30_000 });
  const options = {
    issuer: config.issuer,
    audience: config.audiences,
    clockTolerance: config.clockToleranceSeconds,
    // No token lives forever, and the subject names the caller for the rate limit.
    requiredClaims: ['exp', 'sub'],
  };
  return {
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, keys, options);
        return { ok: true, subject: payload.sub! };
      } catch (error) {
        return authenticationFailure(error);
      }
    },
  };
}

export type GateVerdict =
  { admit: true; caller: string } | { admit: false; code: grpc.status; details: string };

/**
 * Whether a call goes ahead. `authentication` is undefined when auth is off; the caller is then its
 * peer address. `take` (undefined without a rate limit) spends one call of that caller's budget.
 */
export function gateVerdict(
  authentication: Authentication | undefined,
  peerAddress: string,
  take: ((caller: string) => boolean) | undefined,
): GateVerdict {
  if (authentication && !authentication.ok)
    return { admit: false, code: authentication.code, details: authentication.reason };
  const caller = authentication ? `sub:${authentication.subject}` : `peer:${peerAddress}`;
  if (take && !take(caller))
    return {
      admit: false,
      code: grpc.status.RESOURCE_EXHAUSTED,
      details: `rate limit exceeded for ${caller}`,
    };
  return { admit: true, caller };
}

export interface CallerGateOptions {
  /** Full service name whose methods are guarded, e.g. prognos.inference.v1.InferenceService. */
  service: string;
  verifier?: TokenVerifier;
  rateLimit?: RateLimitSpec;
  /** Counts a refused call (the handler never runs for it). */
  onRefused(method: string, code: grpc.status): void;
}

/** The peer's IP address without the port: a client's next connection is the same caller. */
function peerAddress(call: grpc.ServerInterceptingCallInterface): string {
  return call.getConnectionInfo().remoteAddress ?? call.getPeer();
}

/** A grpc-js server interceptor that admits or refuses each call of `service` before its handler runs. */
export function callerGate(opts: CallerGateOptions): grpc.ServerInterceptor {
  const limiter = opts.rateLimit ? new CallerRateLimiter(opts.rateLimit) : undefined;
  const take = limiter ? (caller: string) => limiter.take(caller, performance.now()) : undefined;
  const prefix = `/${opts.service}/`;
  return (method, call) => {
    if (!method.path.startsWith(prefix)) return new grpc.ServerInterceptingCall(call);
    const name = method.path.slice(prefix.length);
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          // Messages and half-close wait in grpc-js until the metadata is passed on; a refused
          // call's never are.
          onReceiveMetadata: (metadata, proceed) => {
            const authenticate = async (): Promise<Authentication | undefined> => {
              if (!opts.verifier) return undefined;
              const bearer = bearerToken(metadata.get('authorization'));
              return 'token' in bearer ? opts.verifier.verify(bearer.token) : unauthenticated(bearer.reason);
            };
            void authenticate().then((authentication) => {
              const verdict = gateVerdict(authentication, peerAddress(call), take);
              if (verdict.admit) {
                proceed(metadata);
                return;
              }
              opts.onRefused(name, verdict.code);
              call.sendStatus({ code: verdict.code, details: verdict.details });
            });
          },
        }),
    });
  };
}
