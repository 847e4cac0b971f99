import type { V1Secret } from '@kubernetes/client-node';
import type { SensorFleetSpec } from '../api/sensorFleet.ts';
import type { NatsTarget } from './pool.ts';

/** A Secret the fleet needs is missing or incomplete: reported as a condition, not thrown as a crash. */
export class NatsSecretError extends Error {
  override readonly name = 'NatsSecretError';
}

export type ReadSecret = (namespace: string, name: string) => Promise<V1Secret | undefined>;

function decode(secret: V1Secret, key: string): string | undefined {
  const data = secret.data?.[key];
  if (data !== undefined) return Buffer.from(data, 'base64').toString('utf8');
  return secret.stringData?.[key];
}

/**
 * The connection target of a fleet, with credentials and TLS material read from Secrets in its
 * namespace (never from the operator's own environment: each fleet authenticates as itself).
 */
export async function resolveNatsTarget(
  spec: SensorFleetSpec['nats'],
  namespace: string,
  readSecret: ReadSecret,
): Promise<NatsTarget> {
  const target: NatsTarget = { url: spec.url };
  if (spec.credentialsSecretRef) {
    const { name, key } = spec.credentialsSecretRef;
    const secret = await readSecret(namespace, name);
    if (!secret) throw new NatsSecretError(`credentials Secret ${namespace}/${name} not found`);
    const creds = decode(secret, key);
    if (creds === undefined)
      throw new NatsSecretError(`credentials Secret ${namespace}/${name} has no key ${key}`);
    target.credentials = creds;
  }
  if (spec.tlsSecretRef) {
    const { name } = spec.tlsSecretRef;
    const secret = await readSecret(namespace, name);
    if (!secret) throw new NatsSecretError(`TLS Secret ${namespace}/${name} not found`);
    const tls: NonNullable<NatsTarget['tls']> = {};
    for (const [field, key] of [
      ['ca', 'ca.crt'],
      ['cert', 'tls.crt'],
      ['key', 'tls.key'],
    ] as const) {
      const value = decode(secret, key);
      if (value !== undefined) tls[field] = value;
    }
    if ((tls.cert === undefined) !== (tls.key === undefined)) {
      throw new NatsSecretError(`TLS Secret ${namespace}/${name} needs both tls.crt and tls.key, or neither`);
    }
    target.tls = tls;
  }
  return target;
}
