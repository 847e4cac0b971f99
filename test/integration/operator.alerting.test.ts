// spec.alerting.alertmanager end to end on the local cluster: the operator reads the model's Secret
// through its watch (a Secret created after the model is picked up without any other change), mounts
// it into the runtime pods and renders their config; the pods deliver machine alerts to a real
// Alertmanager over https with basic auth (its own web config: a CA of this test, a bcrypt user).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { PrognosOperator } from '../../operator/prognosOperator.ts';
import { startAlertmanager, type Alertmanager } from '../cluster/alertmanager.ts';
import { testEnv } from './env.ts';
import {
  applyObject,
  createNamespace,
  deleteNamespace,
  eventually,
  fleetManifest,
  getJson,
  installCrds,
  modelManifest,
  natsClient,
  secretManifest,
  startOperator,
  tempDir,
  waitCondition,
  writeModel,
} from './operatorHarness.ts';

const USER = 'prognos';
const PASSWORD = 'prognos-test-password';
/** bcrypt (cost 10) of PASSWORD: Alertmanager's web config takes hashes only. */
const PASSWORD_HASH = '$2a$10$uNMQGFdBLT/Agal9SWS2BO3KqGAjrTd/GA7qN3HjqneXy1DIlRady';

let ns: string;
let operator: PrognosOperator;
let am: Alertmanager;
let nc: NatsConnection;
let dir: string;
let ca: string;

/** A CA and a server certificate for 127.0.0.1 it signs, in `dir`. */
function makePki(): void {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=am-ca',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
  );
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=alertmanager',
    '-keyout',
    'am.key',
    '-out',
    'am.csr',
  );
  execFileSync(
    'bash',
    ['-c', "printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' > am.ext"],
    { cwd: dir },
  );
  openssl(
    'x509',
    '-req',
    '-in',
    'am.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    'am.ext',
    '-out',
    'am.crt',
  );
}

async function alertsOf(model: string): Promise<{ labels: Record<string, string> }[]> {
  const res = await am.get(`/api/v2/alerts?filter=${encodeURIComponent(`model="${model}"`)}`);
  return res.status === 200 ? (JSON.parse(res.body) as { labels: Record<string, string> }[]) : [];
}

async function runtimeYaml(name: string): Promise<Record<string, unknown>> {
  const cm = await getJson(ns, `configmap/${name}-runtime`);
  return parseYaml(cm.data['runtime.yaml'] as string) as Record<string, unknown>;
}

beforeAll(async () => {
  await installCrds();
  ns = await createNamespace('op-alerting');
  dir = tempDir();
  makePki();
  ca = readFileSync(join(dir, 'ca.crt'), 'utf8');
  am = await startAlertmanager({
    binary: join(testEnv().binDir, 'alertmanager'),
    dir: join(dir, 'alertmanager'),
    webConfig: `tls_server_config:\n  cert_file: ${join(dir, 'am.crt')}\n  key_file: ${join(dir, 'am.key')}\nbasic_auth_users:\n  ${USER}: '${PASSWORD_HASH}'\n`,
    https: { ca },
    auth: { username: USER, password: PASSWORD },
  });
  ({ nc } = await natsClient());
  operator = await startOperator(ns);
  await applyObject(fleetManifest(ns, 'pumps'));
}, 120_000);

afterAll(async () => {
  await operator?.stop();
  await nc?.close();
  await am?.stop();
  if (ns) await deleteNamespace(ns);
});

describe('spec.alerting.alertmanager', () => {
  it('waits for its Secret, then the pods deliver alerts over https with basic auth', async () => {
    // Never verified (wrong digest): the fallback rules score, which makes a hot machine critical.
    const file = writeModel(dir, 'm.onnx', 3);
    await applyObject(
      modelManifest(
        ns,
        'alerting',
        'pumps',
        { version: 'v1', uri: file.uri, sha256: 'b'.repeat(64) },
        {
          fallback: { rules: [{ feature: 'temperature', above: 95, severity: 'critical' }] },
          alerting: { alertmanager: { url: am.url, secretRef: { name: 'am-auth' }, refreshInterval: '2s' } },
        },
      ),
    );
    const refused = await waitCondition(
      ns,
      'mm/alerting',
      'AlertmanagerConfigured',
      'False',
      'AlertmanagerSecretInvalid',
    );
    expect(refused.message).toContain(`Secret ${ns}/am-auth does not exist`);
    await waitCondition(ns, 'mm/alerting', 'Available', 'True', undefined, 120_000);
    expect((await runtimeYaml('alerting'))['alerting']).toBeUndefined();

    // Created afterwards: the Secret's watch reconciles the model, which rolls the pods.
    await applyObject(secretManifest(ns, 'am-auth', { username: USER, password: PASSWORD, 'ca.crt': ca }));
    const configured = await waitCondition(
      ns,
      'mm/alerting',
      'AlertmanagerConfigured',
      'True',
      'AlertmanagerConfigured',
    );
    expect(configured.message).toContain('auth: basic');
    expect((await runtimeYaml('alerting'))['alerting']).toMatchObject({
      alertmanager: {
        url: am.url,
        basicAuth: {
          usernameFile: '/var/run/secrets/prognos/alertmanager/username',
          passwordFile: '/var/run/secrets/prognos/alertmanager/password',
        },
        caFile: '/var/run/secrets/prognos/alertmanager/ca.crt',
        refreshIntervalMs: 2000,
      },
    });
    const events = await getJson(ns, 'events.events.k8s.io');
    expect(
      (events.items as { reason: string; regarding: { name: string } }[])
        .filter((e) => e.regarding.name === 'alerting')
        .map((e) => e.reason),
    ).toEqual(expect.arrayContaining(['AlertmanagerSecretInvalid', 'AlertmanagerConfigured']));

    const js = jetstream(nc);
    await eventually(
      'the hot machine alert in Alertmanager',
      async () => {
        await js.publish(
          `${ns}.pumps.hot-1.readings`,
          JSON.stringify({ ts: Date.now(), vibration: 3, temperature: 120 }),
        );
        await new Promise((r) => setTimeout(r, 500));
        return (await alertsOf('alerting')).length > 0;
      },
      120_000,
    );
    // Alertmanager does enforce the credentials the pods used.
    const anonymous = await new Promise<number>((resolve, reject) =>
      httpsRequest(`${am.url}/api/v2/alerts`, { ca }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end(),
    );
    expect(anonymous).toBe(401);
    expect((await alertsOf('alerting')).map((a) => a.labels)).toEqual([
      {
        alertname: 'PrognosMachineSeverity',
        namespace: ns,
        model: 'alerting',
        machine: 'hot-1',
        severity: 'critical',
      },
    ]);
    const pod = (await getJson(ns, 'pods')).items.find(
      (p: { metadata: { labels: Record<string, string> } }) =>
        p.metadata.labels['prognos.dev/model'] === 'alerting',
    );
    expect(pod.spec.volumes).toContainEqual({
      name: 'alertmanager',
      secret: { secretName: 'am-auth', defaultMode: 0o440, optional: true },
    });

    // spec.alerting removed (an apply without it): the section, the mount and the condition go.
    await applyObject(
      modelManifest(
        ns,
        'alerting',
        'pumps',
        { version: 'v1', uri: file.uri, sha256: 'b'.repeat(64) },
        {
          fallback: { rules: [{ feature: 'temperature', above: 95, severity: 'critical' }] },
        },
      ),
    );
    await eventually('the AlertmanagerConfigured condition removed', async () => {
      const mm = await getJson(ns, 'mm/alerting');
      return !(mm.status.conditions as { type: string }[]).some((c) => c.type === 'AlertmanagerConfigured');
    });
    expect((await runtimeYaml('alerting'))['alerting']).toBeUndefined();
    const deployment = await getJson(ns, 'deployment/alerting');
    expect(deployment.spec.template.spec.volumes.map((v: { name: string }) => v.name)).not.toContain(
      'alertmanager',
    );
  }, 300_000);
});
