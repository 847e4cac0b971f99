import type { V1Secret } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { fleetFixture, modelFixture } from '../testdata/fixtures.ts';
import { renderRuntimeConfig } from './configMap.ts';
import { desiredDeployment } from './deployment.ts';
import { alertingCondition, credentialsOf, resolveAlerting, runtimeAlerting } from './alerting.ts';
import { desiredRuntimeConfig, type ServedArtifact } from './runtimeConfig.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const secret = (data: Record<string, string>): V1Secret => ({
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
});
const withAlerting = (secretRef?: string) =>
  modelFixture((m) => {
    m.spec.alerting = {
      alertmanager: {
        url: 'https://alertmanager.monitoring:9093',
        refreshInterval: '30s',
        ...(secretRef ? { secretRef: { name: secretRef } } : {}),
      },
    };
  });
const artifact: ServedArtifact = {
  version: 'v1',
  uri: 'https://models.example.com/v1.onnx',
  sha256: 'a'.repeat(64),
  inputs: ['vibration'],
};

describe('Alertmanager Secret', () => {
  it.each([
    ['a token', { token: 't' }, { auth: 'bearer', ca: false }],
    ['basic auth and a CA', { username: 'u', password: 'p', 'ca.crt': 'PEM' }, { auth: 'basic', ca: true }],
    ['only a CA', { 'ca.crt': 'PEM' }, { auth: 'none', ca: true }],
  ])('%s', (_, data, credentials) => {
    expect(credentialsOf(secret(data), 'ns/s')).toEqual({ ok: true, credentials });
  });

  it.each([
    ['missing', undefined, /Secret ns\/s does not exist/],
    ['a user without password', secret({ username: 'u' }), /needs both username and password/],
    ['token and basic auth', secret({ token: 't', username: 'u', password: 'p' }), /keep one/],
    ['no known key', secret({ other: 'x' }), /has none of token/],
  ])('refuses a Secret that is %s', (_, s, message) => {
    const r = credentialsOf(s, 'ns/s');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.refusal.reason).toBe('AlertmanagerSecretInvalid');
      expect(r.refusal.message).toMatch(message);
    }
  });

  it('reads the Secret of the model namespace through the given reader; none without secretRef', async () => {
    const asked: string[] = [];
    const read = (ns: string, name: string) => {
      asked.push(`${ns}/${name}`);
      return Promise.resolve(secret({ token: 't' }));
    };
    expect(await resolveAlerting(withAlerting('am'), read)).toEqual({
      kind: 'ok',
      credentials: { auth: 'bearer', ca: false },
    });
    expect(asked).toEqual(['plant-a/am']);
    expect(await resolveAlerting(withAlerting(), read)).toEqual({
      kind: 'ok',
      credentials: { auth: 'none', ca: false },
    });
    expect(await resolveAlerting(modelFixture(), read)).toEqual({ kind: 'off' });
    expect(asked).toHaveLength(1);
  });
});

describe('runtime config and pod', () => {
  it('renders the alerting section with the mounted files the Secret has', () => {
    const doc = parse(
      renderRuntimeConfig(
        desiredRuntimeConfig(withAlerting('am'), fleetFixture(), artifact, undefined, 'stable', {
          auth: 'basic',
          ca: true,
        }),
      ),
    ) as Record<string, unknown>;
    expect(doc['alerting']).toEqual({
      alertmanager: {
        url: 'https://alertmanager.monitoring:9093',
        basicAuth: {
          usernameFile: '/var/run/secrets/prognos/alertmanager/username',
          passwordFile: '/var/run/secrets/prognos/alertmanager/password',
        },
        caFile: '/var/run/secrets/prognos/alertmanager/ca.crt',
        refreshIntervalMs: 30_000,
        timeoutMs: 10_000,
        maxPending: 10_000,
        maxBatch: 500,
        retry: { initialMs: 500, maxMs: 30_000 },
      },
    });
  });

  it('no section without usable credentials or without spec.alerting, so other models keep their config hash', () => {
    expect(runtimeAlerting(withAlerting('am'), undefined)).toBeUndefined();
    const plain = renderRuntimeConfig(desiredRuntimeConfig(modelFixture(), fleetFixture(), artifact));
    const refused = renderRuntimeConfig(desiredRuntimeConfig(withAlerting('am'), fleetFixture(), artifact));
    expect(refused).toBe(plain);
    expect(plain).not.toContain('alerting');
  });

  it('mounts the Secret as an optional whole volume (rotation applies in place)', () => {
    const pod = desiredDeployment({
      model: withAlerting('am'),
      fleet: fleetFixture(),
      image: 'img',
      configHash: 'h',
      version: 'v1',
    }).spec!.template.spec!;
    expect(pod.volumes).toContainEqual({
      name: 'alertmanager',
      secret: { secretName: 'am', defaultMode: 0o440, optional: true },
    });
    expect(pod.containers[0]!.volumeMounts).toContainEqual({
      name: 'alertmanager',
      mountPath: '/var/run/secrets/prognos/alertmanager',
      readOnly: true,
    });
  });

  it('condition: True naming the URL, False with the refusal, none without spec.alerting', () => {
    const m = withAlerting('am');
    expect(alertingCondition({ kind: 'ok', credentials: { auth: 'bearer', ca: false } }, m)).toMatchObject({
      type: 'AlertmanagerConfigured',
      status: 'True',
      reason: 'AlertmanagerConfigured',
    });
    expect(
      alertingCondition(
        { kind: 'refused', refusal: { reason: 'AlertmanagerSecretInvalid', message: 'x' } },
        m,
      ),
    ).toMatchObject({
      status: 'False',
      reason: 'AlertmanagerSecretInvalid',
      message: 'x; machine alerts go to NATS only',
    });
    expect(alertingCondition({ kind: 'off' }, m)).toBeUndefined();
  });
});
