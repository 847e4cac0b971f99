// spec.alerting.alertmanager → the runtime config's `alerting` section and the AlertmanagerConfigured
// condition. The Secret (spec.alerting.alertmanager.secretRef) is read through the watched-Secret
// cache (ADR 0007) for which keys it has: they decide the auth the runtimes use. Its content is not
// put anywhere: it is mounted into the pods, where the runtime reads the files per request, so a
// rotated token applies without a restart.
import type { V1Secret } from '@kubernetes/client-node';
import { parseDuration } from '../../api/duration.ts';
import { ALERTMANAGER_SECRET_KEYS, type MaintenanceModel } from '../../api/maintenanceModel.ts';
import type { ConditionInput } from '../../framework/conditions.ts';
import type { ReadSecret } from '../../nats/credentials.ts';
import type { Refusal } from './inputsCheck.ts';

export const ALERTING_CONDITION = 'AlertmanagerConfigured';

/** Where spec.alerting.alertmanager.secretRef is mounted in the runtime pods. */
export const ALERTMANAGER_MOUNT = '/var/run/secrets/prognos/alertmanager';

/** Which credentials the Secret holds. */
export interface AlertmanagerCredentials {
  auth: 'none' | 'bearer' | 'basic';
  ca: boolean;
}

/** What the reconcile learned: credentials to render, or why alerts go to NATS only. */
export type AlertingResolution =
  | { kind: 'off' }
  | { kind: 'ok'; credentials: AlertmanagerCredentials }
  | { kind: 'refused'; refusal: Refusal };

const has = (secret: V1Secret, key: string): boolean =>
  (secret.data?.[key] ?? secret.stringData?.[key] ?? '').length > 0;

/** The credentials a Secret's keys give, or why it cannot be used (pure). */
export function credentialsOf(
  secret: V1Secret | undefined,
  where: string,
): { ok: true; credentials: AlertmanagerCredentials } | { ok: false; refusal: Refusal } {
  const refuse = (message: string) => ({
    ok: false as const,
    refusal: {
      reason: 'AlertmanagerSecretInvalid',
      message: `spec.alerting.alertmanager.secretRef: ${message}`,
    },
  });
  if (!secret) return refuse(`Secret ${where} does not exist`);
  const k = ALERTMANAGER_SECRET_KEYS;
  const token = has(secret, k.token);
  const user = has(secret, k.username);
  const password = has(secret, k.password);
  const ca = has(secret, k.ca);
  if (token && (user || password))
    return refuse(`Secret ${where} has both ${k.token} and ${k.username}/${k.password}; keep one`);
  if (user !== password) return refuse(`Secret ${where} needs both ${k.username} and ${k.password}`);
  if (!token && !user && !ca)
    return refuse(`Secret ${where} has none of ${k.token}, ${k.username}/${k.password} or ${k.ca}`);
  return { ok: true, credentials: { auth: token ? 'bearer' : user ? 'basic' : 'none', ca } };
}

export async function resolveAlerting(
  model: MaintenanceModel,
  readSecret: ReadSecret,
): Promise<AlertingResolution> {
  const am = model.spec.alerting?.alertmanager;
  if (!am) return { kind: 'off' };
  if (!am.secretRef) return { kind: 'ok', credentials: { auth: 'none', ca: false } };
  const ns = model.metadata.namespace!;
  const checked = credentialsOf(await readSecret(ns, am.secretRef.name), `${ns}/${am.secretRef.name}`);
  return checked.ok
    ? { kind: 'ok', credentials: checked.credentials }
    : { kind: 'refused', refusal: checked.refusal };
}

/** The runtime config's `alerting` section; none without usable credentials (alerts then go to NATS only). */
export function runtimeAlerting(
  model: MaintenanceModel,
  credentials: AlertmanagerCredentials | undefined,
): Record<string, unknown> | undefined {
  const am = model.spec.alerting?.alertmanager;
  if (!am || !credentials) return undefined;
  const file = (key: string) => `${ALERTMANAGER_MOUNT}/${key}`;
  const k = ALERTMANAGER_SECRET_KEYS;
  return {
    alertmanager: {
      url: am.url,
      ...(credentials.auth === 'bearer' ? { bearerTokenFile: file(k.token) } : {}),
      ...(credentials.auth === 'basic'
        ? { basicAuth: { usernameFile: file(k.username), passwordFile: file(k.password) } }
        : {}),
      ...(credentials.ca ? { caFile: file(k.ca) } : {}),
      refreshIntervalMs: parseDuration(am.refreshInterval),
    },
  };
}

/** The condition, when spec.alerting is set. */
export function alertingCondition(
  resolution: AlertingResolution,
  model: MaintenanceModel,
): ConditionInput | undefined {
  const gen = model.metadata.generation;
  if (resolution.kind === 'off') return undefined;
  if (resolution.kind === 'refused')
    return {
      type: ALERTING_CONDITION,
      status: 'False',
      reason: resolution.refusal.reason,
      message: `${resolution.refusal.message}; machine alerts go to NATS only`,
      observedGeneration: gen,
    };
  return {
    type: ALERTING_CONDITION,
    status: 'True',
    reason: 'AlertmanagerConfigured',
    message: `machine alerts are delivered to ${model.spec.alerting!.alertmanager.url} (auth: ${resolution.credentials.auth})`,
    observedGeneration: gen,
  };
}
