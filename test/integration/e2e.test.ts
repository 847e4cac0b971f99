// End to end: a SensorFleet and a MaintenanceModel with a real ONNX file; the pod runner runs the
// inference pods; readings published to NATS come back as predictions; `kubectl get mm` shows Ready
// with the version; a new spec.model replaces the serving model without losing a reading (JetStream).
import type { JetStreamClient } from '@nats-io/jetstream';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrognosOperator } from '../../operator/prognosOperator.ts';
import {
  applyObject,
  createNamespace,
  deleteNamespace,
  eventually,
  fleetManifest,
  getJson,
  installCrds,
  type ModelFile,
  modelManifest,
  natsClient,
  ok,
  startOperator,
  tempDir,
  waitCondition,
  writeModel,
} from './operatorHarness.ts';

let ns: string;
let operator: PrognosOperator;
let nc: NatsConnection;
let js: JetStreamClient;
let v1: ModelFile;
let v2: ModelFile;
let predictions: Subscription;
/** `machine/ts` → versions that predicted it. */
const seen = new Map<string, Set<string>>();

const MACHINES = ['p1', 'p2', 'p3', 'p4'];

async function publishReadings(count: number, startTs: number): Promise<string[]> {
  const keys: string[] = [];
  for (let i = 0; i < count; i++) {
    const machine = MACHINES[i % MACHINES.length]!;
    const ts = startTs + i;
    await js.publish(
      `${ns}.pumps.${machine}.readings`,
      JSON.stringify({ ts, vibration: 2 + (i % 7), temperature: 60 + (i % 5) }),
    );
    keys.push(`${machine}/${ts}`);
  }
  return keys;
}

function missing(keys: string[]): string[] {
  return keys.filter((k) => !seen.has(k));
}

async function mmRow(): Promise<string> {
  return ok(['get', 'mm', 'pump-failure', '-n', ns, '--no-headers']);
}

beforeAll(async () => {
  await installCrds();
  ns = await createNamespace('e2e');
  operator = await startOperator(ns);
  ({ nc } = await natsClient());
  js = jetstream(nc);
  const dir = tempDir();
  v1 = writeModel(dir, 'v1.onnx', 11);
  v2 = writeModel(dir, 'v2.onnx', 12);
  predictions = nc.subscribe(`prognos.predictions.${ns}.pump-failure.>`, {
    callback: (_err, msg) => {
      const p = msg.json<{ machineId: string; ts: number; modelVersion?: string; version?: string }>();
      const key = `${p.machineId}/${p.ts}`;
      const versions = seen.get(key) ?? new Set<string>();
      versions.add(p.modelVersion ?? p.version ?? '?');
      seen.set(key, versions);
    },
  });
  await applyObject(fleetManifest(ns, 'pumps'));
  await waitCondition(ns, 'sf/pumps', 'StreamReady', 'True');
});

afterAll(async () => {
  predictions?.unsubscribe();
  await operator?.stop();
  await nc?.close();
  await deleteNamespace(ns);
});

describe('end to end', () => {
  it('serves predictions for readings, and kubectl shows the model Ready with its version', async () => {
    await applyObject(modelManifest(ns, 'pump-failure', 'pumps', { version: 'v1', ...v1 }));
    await waitCondition(ns, 'mm/pump-failure', 'Ready', 'True', 'Serving', 120_000);
    expect(await mmRow()).toMatch(/pumps\s+classification\s+v1\b/);
    const keys = await publishReadings(200, 1_700_000_000_000);
    await eventually('a prediction for every reading', async () => missing(keys).length === 0, 60_000);
    expect([...seen.values()].every((v) => v.has('v1'))).toBe(true);
    await waitCondition(ns, 'sf/pumps', 'Receiving', 'True', 'ReadingsArriving', 60_000);
    const fleet = await getJson(ns, 'sf/pumps');
    expect(fleet.status.lastReadingTime).toBeDefined();
  });

  it('a new spec.model replaces the serving model without losing a reading', async () => {
    let publishing = true;
    const published: string[] = [];
    const publisher = (async () => {
      let ts = 1_700_000_100_000;
      while (publishing) {
        published.push(...(await publishReadings(8, ts)));
        ts += 8;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await new Promise((r) => setTimeout(r, 500));
    await applyObject(modelManifest(ns, 'pump-failure', 'pumps', { version: 'v2', ...v2 }));
    await eventually(
      'stable v2, Ready',
      async () => {
        const mm = await getJson(ns, 'mm/pump-failure');
        const ready = mm?.status?.conditions?.find((c: { type: string }) => c.type === 'Ready');
        return mm?.status?.stable?.version === 'v2' && ready?.status === 'True';
      },
      120_000,
    );
    // Keep publishing a little after the switch, so readings straddle it on both sides.
    await new Promise((r) => setTimeout(r, 1_000));
    publishing = false;
    await publisher;
    await eventually(
      'a prediction for every reading published across the switch',
      async () => missing(published).length === 0,
      60_000,
    );
    const versions = new Set(published.flatMap((k) => [...seen.get(k)!]));
    expect(versions.has('v2')).toBe(true);
    expect(published.length).toBeGreaterThan(50);
    expect(await mmRow()).toMatch(/\bv2\b/);
  });
});
