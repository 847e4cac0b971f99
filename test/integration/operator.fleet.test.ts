// SensorFleet against the real API server and nats-server: streams created, updated on spec change,
// deleted or kept per deletionPolicy; NATS unreachable reported as a condition.
import type { JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrognosOperator } from '../../operator/prognosOperator.ts';
import {
  applyObject,
  createNamespace,
  deleteNamespace,
  eventually,
  fleetManifest,
  installCrds,
  natsClient,
  ok,
  startOperator,
  waitCondition,
} from './operatorHarness.ts';

let ns: string;
let operator: PrognosOperator;
let nc: NatsConnection;
let jsm: JetStreamManager;

const streamName = (fleet: string) => `PROGNOS_${ns}_${fleet}`.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
const streamInfo = (name: string) => jsm.streams.info(name).catch(() => undefined);

beforeAll(async () => {
  await installCrds();
  ns = await createNamespace('op-fleet');
  operator = await startOperator(ns);
  ({ nc, jsm } = await natsClient());
});

afterAll(async () => {
  await operator?.stop();
  await nc?.close();
  await deleteNamespace(ns);
});

describe('SensorFleet', () => {
  it('creates the readings, dead-letter and labels streams and reports StreamReady', async () => {
    await applyObject(fleetManifest(ns, 'pumps'));
    await waitCondition(ns, 'sf/pumps', 'StreamReady', 'True', 'StreamsEnsured');
    await waitCondition(ns, 'sf/pumps', 'Ready', 'True', 'StreamsReady');
    const info = await streamInfo(streamName('pumps'));
    expect(info?.config).toMatchObject({
      subjects: [`${ns}.pumps.*.readings`],
      max_age: 3600e9,
      num_replicas: 1,
    });
    expect((await streamInfo(`${streamName('pumps')}_DLQ`))?.config.subjects).toEqual([
      `prognos.deadletter.${ns}.pumps`,
    ]);
    expect((await streamInfo(`${streamName('pumps')}_LABELS`))?.config.subjects).toEqual([
      `prognos.labels.${ns}.pumps.*`,
    ]);
    await waitCondition(ns, 'sf/pumps', 'Receiving', 'False', 'NoReadings');
  });

  it('updates the stream when the spec changes (max age, partitions)', async () => {
    const fleet = fleetManifest(ns, 'pumps');
    (fleet['spec'] as Record<string, unknown>)['stream'] = { maxAge: '2h', partitions: 4 };
    await applyObject(fleet);
    const info = await eventually('max_age 2h', async () => {
      const i = await streamInfo(streamName('pumps'));
      return i?.config.max_age === 7200e9 ? i : undefined;
    });
    expect(info.config.subject_transform).toEqual({
      src: `${ns}.pumps.*.readings`,
      dest: `${ns}.pumps.{{wildcard(1)}}.readings.{{partition(4,1)}}`,
    });
  });

  it('deletionPolicy Delete removes the streams with the fleet', async () => {
    await ok(['delete', '-n', ns, 'sf/pumps', '--timeout=60s']);
    expect(await streamInfo(streamName('pumps'))).toBeUndefined();
    expect(await streamInfo(`${streamName('pumps')}_DLQ`)).toBeUndefined();
  });

  it('deletionPolicy Retain keeps them', async () => {
    await applyObject(fleetManifest(ns, 'kept', { deletionPolicy: 'Retain' }));
    await waitCondition(ns, 'sf/kept', 'StreamReady', 'True');
    await ok(['delete', '-n', ns, 'sf/kept', '--timeout=60s']);
    expect(await streamInfo(streamName('kept'))).toBeDefined();
    await jsm.streams.delete(streamName('kept'));
  });

  it('NATS unreachable: StreamReady False with the reason, and an Event', async () => {
    const fleet = fleetManifest(ns, 'offline');
    (fleet['spec'] as Record<string, unknown>)['nats'] = { url: 'nats://127.0.0.1:1' };
    await applyObject(fleet);
    const c = await waitCondition(ns, 'sf/offline', 'StreamReady', 'False', 'NatsUnreachable');
    expect(c.message).not.toBe('');
    await eventually('a NatsUnreachable Event', async () => {
      const out = await ok(['get', 'events.events.k8s.io', '-n', ns, '-o', 'jsonpath={.items[*].reason}']);
      return out.includes('NatsUnreachable');
    });
    // Retain: deletion must not wait for an unreachable server.
    const patched = fleetManifest(ns, 'offline', { deletionPolicy: 'Retain' });
    (patched['spec'] as Record<string, unknown>)['nats'] = { url: 'nats://127.0.0.1:1' };
    await applyObject(patched);
    await ok(['delete', '-n', ns, 'sf/offline', '--timeout=60s']);
  });
});
