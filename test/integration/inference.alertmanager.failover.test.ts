// A partition move with active alerts: two runtime processes share a fleet stream partitioned 4
// ways; 8 machines go critical (8 firings on NATS, 8 alerts in a real Alertmanager); one replica is
// SIGKILLed, its partitions move to the other, which continues from the shared alert state: no
// firing again on NATS, it keeps the moved alerts refreshed (their endsAt is 4 s, so without it they
// would lapse), and it resolves all 8 when the machines return to ok.
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAlertmanager, type Alertmanager } from '../cluster/alertmanager.ts';
import { ensureBinaries } from '../cluster/binaries.ts';
import {
  addModelConsumers,
  addPartitionedStream,
  collect,
  connectTo,
  NAMESPACE,
  partitionedInput,
  reading,
  readingSubject,
  runtimeConfig,
  spawnRuntime,
  startTestNats,
  waitUntil,
  writeConfigFile,
  type RuntimeProcess,
  type TestNats,
} from './inferenceHarness.ts';
import { join } from 'node:path';

const STREAM = 'plant-a-pumps';
const PARTITIONS = 4;
const MODEL = 'pump-alerts';
const MACHINES = Array.from({ length: 8 }, (_, i) => `pump-${i}`);
let nats: TestNats;
let nc: NatsConnection;
let js: JetStreamClient;
let am: Alertmanager;
let replicas: RuntimeProcess[] = [];

interface AmAlert {
  labels: Record<string, string>;
  endsAt: string;
}

async function alerts(): Promise<AmAlert[]> {
  const res = await am.get(`/api/v2/alerts?filter=${encodeURIComponent(`model="${MODEL}"`)}`);
  return (JSON.parse(res.body) as AmAlert[]).sort((a, b) =>
    a.labels['machine']!.localeCompare(b.labels['machine']!),
  );
}

function owned(rt: RuntimeProcess): string[] {
  const last = rt.output.filter((l) => l.includes('"partitions owned"')).at(-1);
  return last ? (JSON.parse(last) as { consumers: string[] }).consumers : [];
}

const publishAll = async (extra: Record<string, unknown>) => {
  for (const m of MACHINES) await js.publish(readingSubject(m), reading(1, extra));
};

beforeAll(async () => {
  nats = await startTestNats();
  nc = await connectTo(nats.server.url);
  js = jetstream(nc);
  am = await startAlertmanager({ binary: (await ensureBinaries()).alertmanager, dir: join(nats.dir, 'am') });
  await addPartitionedStream(nc, STREAM, PARTITIONS);
  const consumers = await addModelConsumers(nc, STREAM, PARTITIONS, MODEL);
  const config = runtimeConfig(
    nats.server.url,
    { uri: 'file:///unused', sha256: 'a'.repeat(64) },
    {
      model: MODEL,
      input: partitionedInput(STREAM, consumers),
      fallback: { rules: [{ feature: 'temperature', above: 95, severity: 'critical' }] },
      alerting: { alertmanager: { url: am.url, refreshIntervalMs: 1000 } },
    },
  );
  delete config.artifact;
  const path = writeConfigFile(nats.dir, config);
  replicas = await Promise.all(['a', 'b'].map((p) => spawnRuntime(path, { POD_NAME: `${MODEL}-${p}` })));
  await waitUntil(
    () => replicas.map(owned).flat().length === PARTITIONS && replicas.every((r) => owned(r).length > 0),
    15_000,
    () => `owned: ${JSON.stringify(replicas.map(owned))}`,
  );
}, 120_000);

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.stop(5_000)));
  await am?.stop();
  await nc?.close();
  await nats?.cleanup();
});

describe('alerts across a partition move', () => {
  it('the replica that takes the partitions over continues, refreshes and resolves the alerts', async () => {
    const firings = collect(nc, `prognos.alerts.${NAMESPACE}.${MODEL}.>`);
    await publishAll({ temperature: 99 });
    await waitUntil(
      async () => (await alerts()).length === MACHINES.length,
      10_000,
      () => 'not 8 alerts',
    );
    await firings.waitFor(MACHINES.length);
    expect(firings.messages.map((m) => m.json['to'])).toEqual(MACHINES.map(() => 'critical'));
    firings.stop();

    const [victim, survivor] = replicas as [RuntimeProcess, RuntimeProcess];
    const moved = owned(victim);
    await victim.kill();
    replicas = [survivor];
    const after = collect(nc, `prognos.alerts.${NAMESPACE}.${MODEL}.>`);
    const predictions = collect(nc, `prognos.predictions.${NAMESPACE}.${MODEL}.>`);
    await waitUntil(
      () => owned(survivor).length === PARTITIONS,
      30_000,
      () => `survivor owns ${owned(survivor).join(',')}`,
    );
    // Critical readings until the survivor has scored every machine, the moved ones included.
    await waitUntil(
      async () => {
        await publishAll({ temperature: 99 });
        await new Promise((r) => setTimeout(r, 300));
        return new Set(predictions.messages.map((m) => m.json['machineId'])).size === MACHINES.length;
      },
      30_000,
      () => 'survivor did not score every machine',
    );
    const tookOver = Date.now();
    // Past the endsAt (4 s) of everything the killed replica sent: only the survivor's refreshes keep them.
    await new Promise((r) => setTimeout(r, 5_000));
    const held = await alerts();
    expect(held.map((a) => a.labels['machine'])).toEqual(MACHINES);
    for (const a of held) expect(Date.parse(a.endsAt)).toBeGreaterThan(tookOver + 4_000);
    expect(after.messages).toEqual([]);

    await publishAll({});
    await after.waitFor(MACHINES.length);
    await waitUntil(
      async () => (await alerts()).length === 0,
      10_000,
      () => 'not all resolved',
    );
    expect(after.messages.map((m) => `${m.json['from']}>${m.json['to']}`)).toEqual(
      MACHINES.map(() => 'critical>ok'),
    );
    console.log(
      `[alertmanager] failover: partitions ${moved.length}/${PARTITIONS} moved, 8 alerts kept and resolved`,
    );
    after.stop();
    predictions.stop();
  }, 120_000);
});
