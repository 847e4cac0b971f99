// The Secrets a SensorFleet names are read from a watch of each Secret alone, not fetched per
// reconcile: against a nats-server that admits only known nkey users, a rotated credentials Secret
// moves the operator's connection to the new user without a restart and without any other change to
// wake the fleet, and a Secret created after the fleet that needs it makes the fleet Ready.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../cluster/freePort.ts';
import { startNatsServer, type NatsServer } from '../cluster/nats.ts';
import type { PrognosOperator } from '../../operator/prognosOperator.ts';
import { testEnv } from './env.ts';
import {
  applyObject,
  createNamespace,
  deleteNamespace,
  eventually,
  fleetManifest,
  getJson,
  installCrds,
  natsUserCreds,
  secretManifest,
  startOperator,
  tempDir,
  waitCondition,
} from './operatorHarness.ts';

let ns: string;
let operator: PrognosOperator;
let server: NatsServer;
let monitorPort: number;
const alice = natsUserCreds();
const bob = natsUserCreds();

/** The nkeys of the operator's open connections, from the server's own /connz. */
async function operatorNkeys(): Promise<string[]> {
  const res = await fetch(`http://127.0.0.1:${monitorPort}/connz?auth=true`);
  const body = (await res.json()) as { connections?: { name?: string; authorized_user?: string }[] };
  return (body.connections ?? [])
    .filter((c) => c.name?.startsWith('prognos-operator/'))
    .map((c) => c.authorized_user ?? '');
}

function fleet(name: string, secret: string): Record<string, unknown> {
  return fleetManifest(ns, name, {
    nats: { url: server.url, credentialsSecretRef: { name: secret, key: 'creds' } },
  });
}

beforeAll(async () => {
  await installCrds();
  ns = await createNamespace('op-secrets');
  const dir = tempDir();
  const conf = join(dir, 'auth.conf');
  writeFileSync(
    conf,
    `authorization { users = [ { nkey: ${alice.publicKey} }, { nkey: ${bob.publicKey} } ] }\n`,
  );
  monitorPort = await freePort('127.0.0.1');
  server = await startNatsServer({
    binary: join(testEnv().binDir, 'nats-server'),
    dir: join(dir, 'nats'),
    args: ['-c', conf, '-m', String(monitorPort)],
  });
  operator = await startOperator(ns);
});

afterAll(async () => {
  await operator?.stop();
  await server?.stop();
  if (ns) await deleteNamespace(ns);
});

describe('Secrets a SensorFleet names', () => {
  it('connects as the user of the credentials Secret', async () => {
    await applyObject(secretManifest(ns, 'nats-creds', { creds: alice.creds }));
    await applyObject(fleet('pumps', 'nats-creds'));
    await waitCondition(ns, 'sf/pumps', 'StreamReady', 'True', 'StreamsEnsured', 30_000);
    expect(await operatorNkeys()).toEqual([alice.publicKey]);
  });

  it('a rotated Secret moves the connection to the new user, with nothing else changed', async () => {
    const before = await getJson(ns, 'sf/pumps');
    // No model scores this fleet, so nothing requeues it: only the Secret's watch can wake it.
    await applyObject(secretManifest(ns, 'nats-creds', { creds: bob.creds }));
    await eventually(
      "a connection as the rotated Secret's user",
      async () => (await operatorNkeys()).includes(bob.publicKey),
      20_000,
    );
    const after = await getJson(ns, 'sf/pumps');
    expect(after.metadata.generation).toBe(before.metadata.generation);
    await waitCondition(ns, 'sf/pumps', 'StreamReady', 'True', 'StreamsEnsured');
  });

  it('a Secret created after the fleet that names it makes the fleet Ready', async () => {
    await applyObject(fleet('late', 'late-creds'));
    const c = await waitCondition(ns, 'sf/late', 'StreamReady', 'False', 'NatsCredentialsInvalid', 30_000);
    expect(c.message).toBe(`credentials Secret ${ns}/late-creds not found`);
    await applyObject(secretManifest(ns, 'late-creds', { creds: alice.creds }));
    await waitCondition(ns, 'sf/late', 'StreamReady', 'True', 'StreamsEnsured', 30_000);
  });

  it('credentials the server refuses are reported, and fixing the Secret recovers', async () => {
    const stranger = natsUserCreds();
    await applyObject(secretManifest(ns, 'late-creds', { creds: stranger.creds }));
    await waitCondition(ns, 'sf/late', 'StreamReady', 'False', undefined, 30_000);
    await applyObject(secretManifest(ns, 'late-creds', { creds: bob.creds }));
    await waitCondition(ns, 'sf/late', 'StreamReady', 'True', 'StreamsEnsured', 30_000);
  });
});
