// The inference runtime on a real nats-server with a real ONNX model: readings in, predictions,
// alerts, dead letters and telemetry out on the contract subjects; JetStream acks and terms; the
// rollout split from KV applied live.
import { AckPolicy, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRuntime, type Runtime } from '../../runtimes/inference/runtime.ts';
import { bucketOf } from '../../contracts/split.ts';
import {
  collect,
  connectTo,
  MODEL,
  NAMESPACE,
  reading,
  readingSubject,
  runtimeConfig,
  startTestNats,
  waitUntil,
  writeClassifier,
  type ModelFile,
  type TestNats,
} from './inferenceHarness.ts';

const logger = pino({ level: 'warn' });
const enc = new TextEncoder();
let nats: TestNats;
let nc: NatsConnection;
let model: ModelFile;

beforeAll(async () => {
  nats = await startTestNats();
  nc = await connectTo(nats.server.url);
  model = writeClassifier(nats.dir);
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'plant-a-pumps', subjects: ['plant-a.pumps.*.readings'] });
});

afterAll(async () => {
  await nc?.close();
  await nats?.cleanup();
});

async function counter(rt: Runtime, outcome: string): Promise<number> {
  const m = await rt.metrics.readings.get();
  return m.values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
}

describe('JetStream mode', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await startRuntime(runtimeConfig(nats.server.url, model), { logger });
  });
  afterAll(async () => rt?.stop());

  it('publishes a prediction per reading on prognos.predictions.<ns>.<model>.<machine>, then acks', async () => {
    const predictions = collect(nc, `prognos.predictions.${NAMESPACE}.${MODEL}.>`);
    const telemetry = collect(nc, `prognos.telemetry.${NAMESPACE}.${MODEL}.v1`);
    const js = (await jetstreamManager(nc)).jetstream();
    for (let i = 0; i < 60; i++) await js.publish(readingSubject(`pump-${i % 6}`), reading(i));
    const got = await predictions.waitFor(60);
    expect(got).toHaveLength(60);
    for (const { subject, json } of got) {
      expect(subject).toBe(`prognos.predictions.${NAMESPACE}.${MODEL}.${json.machineId}`);
      expect(json).toMatchObject({ model: MODEL, modelVersion: 'v1', role: 'stable', fallback: false });
      expect(json.score).toBeGreaterThanOrEqual(0);
      expect(json.score).toBeLessThanOrEqual(1);
      // One per sensor feature: vibration covers vibration.mean and vibration.std too.
      expect(Object.keys(json.contributions as object).sort()).toEqual([
        'pressure',
        'temperature',
        'vibration',
      ]);
    }
    const jsm = await jetstreamManager(nc);
    await waitUntil(
      async () => {
        const info = await jsm.consumers.info('plant-a-pumps', 'pump-failure-v1');
        return info.num_ack_pending === 0 && info.num_pending === 0;
      },
      5000,
      () => 'consumer not fully acked',
    );
    const info = await jsm.consumers.info('plant-a-pumps', 'pump-failure-v1');
    expect(info.config.ack_policy).toBe(AckPolicy.Explicit);
    expect(info.ack_floor.stream_seq).toBe(60);
    // Telemetry summarises the same window: versioned, counts by outcome.
    await waitUntil(
      () =>
        telemetry.messages.reduce(
          (n, m) => n + ((m.json.counts as { predictions: number }).predictions ?? 0),
          0,
        ) >= 60,
      3000,
      () => JSON.stringify(telemetry.messages.at(-1)?.json),
    );
    expect(telemetry.messages[0]!.json).toMatchObject({
      schema: 1,
      namespace: NAMESPACE,
      model: MODEL,
      version: 'v1',
    });
    predictions.stop();
    telemetry.stop();
  });

  it('dead-letters bad readings with reason and field, counts them, and terminates them', async () => {
    const deadLetters = collect(nc, `prognos.deadletter.${NAMESPACE}.pumps`);
    const js = (await jetstreamManager(nc)).jetstream();
    const bad: [string, Uint8Array, string, string | undefined][] = [
      ['pump-1', enc.encode('{"ts": 1, "vibration": '), 'malformed_json', undefined],
      ['pump-1', reading(1, { vibration: 999 }), 'out_of_range', 'vibration'],
      ['pump-1', reading(1, { temperature: 'hot' }), 'wrong_type', 'temperature'],
      ['pump-1', reading(1, { pressure: undefined }), 'missing_field', 'pressure'],
      ['pump-1', reading(1, { ts: Date.now() + 3_600_000 }), 'timestamp_in_future', 'ts'],
      ['bad!id', reading(1), 'bad_machine_id', 'subject'],
      ['pump-1', enc.encode('[1,2]'), 'not_an_object', undefined],
      [
        'pump-1',
        enc.encode(JSON.stringify({ ts: Date.now(), pad: 'x'.repeat(5000) })),
        'oversized',
        undefined,
      ],
    ];
    const before = await counter(rt, 'dead_letter');
    for (const [machine, data] of bad) await js.publish(readingSubject(machine), data);
    const got = await deadLetters.waitFor(bad.length);
    expect(got.map((m) => [m.json.reason, m.json.field])).toEqual(
      bad.map(([, , reason, field]) => [reason, field]),
    );
    expect(got[0]!.json).toMatchObject({
      schema: 1,
      payload: '{"ts": 1, "vibration": ',
      subject: readingSubject('pump-1'),
    });
    expect(await counter(rt, 'dead_letter')).toBe(before + bad.length);
    const byReason = await rt.metrics.deadLetters.get();
    expect(byReason.values.find((v) => v.labels.reason === 'out_of_range')?.value).toBe(1);
    // Terminated: nothing pending, nothing redelivered.
    const jsm = await jetstreamManager(nc);
    await waitUntil(
      async () => (await jsm.consumers.info('plant-a-pumps', 'pump-failure-v1')).num_ack_pending === 0,
      5000,
      () => 'dead letters not terminated',
    );
    expect((await jsm.consumers.info('plant-a-pumps', 'pump-failure-v1')).num_redelivered).toBe(0);
    deadLetters.stop();
  });

  it('publishes alerts on severity transitions only and keeps the latest health in KV', async () => {
    const alerts = collect(nc, `prognos.alerts.${NAMESPACE}.${MODEL}.>`);
    const js = (await jetstreamManager(nc)).jetstream();
    // The fallback-free model scores these; whatever severity results, at most one transition per machine.
    for (let i = 0; i < 10; i++)
      await js.publish(readingSubject('pump-alert'), reading(i, { vibration: 45, temperature: 190 }));
    const kv = await new Kvm(nc).open('prognos-machine-health');
    await waitUntil(
      async () => (await kv.get(`${NAMESPACE}.${MODEL}.pump-alert`)) !== null,
      5000,
      () => 'no health entry',
    );
    const health = (await kv.get(`${NAMESPACE}.${MODEL}.pump-alert`))!.json<Record<string, unknown>>();
    expect(health).toMatchObject({ machineId: 'pump-alert', modelVersion: 'v1', role: 'stable' });
    await new Promise((r) => setTimeout(r, 300));
    const forMachine = alerts.messages.filter((m) => m.json.machineId === 'pump-alert');
    expect(forMachine.length).toBeLessThanOrEqual(1);
    if (health.severity !== 'ok')
      expect(forMachine[0]?.json).toMatchObject({ from: 'ok', to: health.severity });
    alerts.stop();
  });
});

describe('core NATS mode and the rollout split', () => {
  const splitKey = `${NAMESPACE}.${MODEL}`;
  const low = Array.from({ length: 200 }, (_, i) => `m-${i}`).filter((id) => bucketOf(id) < 50);
  const high = Array.from({ length: 200 }, (_, i) => `m-${i}`).filter((id) => bucketOf(id) >= 50);
  let stable: Runtime;
  let canary: Runtime;
  let shadow: Runtime;

  beforeAll(async () => {
    const core = (version: string, role: string) =>
      runtimeConfig(nats.server.url, model, {
        version,
        role,
        input: {
          mode: 'core',
          subject: 'plant-a.pumps.*.readings',
          queueGroup: `pump-failure-${version}`,
          machineId: { subjectToken: 3 },
        },
      });
    stable = await startRuntime(core('v1', 'stable'), { logger });
    canary = await startRuntime(core('v2', 'canary'), { logger });
    shadow = await startRuntime(core('v3', 'shadow'), { logger });
  });
  afterAll(async () => {
    await Promise.all([stable?.stop(), canary?.stop(), shadow?.stop()]);
  });

  it('without a split the stable scores every machine and the canary none', async () => {
    const predictions = collect(nc, `prognos.predictions.${NAMESPACE}.${MODEL}.>`);
    for (const id of [...low.slice(0, 5), ...high.slice(0, 5)]) nc.publish(readingSubject(id), reading(1));
    await predictions.waitFor(20);
    await new Promise((r) => setTimeout(r, 200));
    const byRole = (role: string) => predictions.messages.filter((m) => m.json.role === role).length;
    expect(byRole('stable')).toBe(10);
    expect(byRole('canary')).toBe(0);
    expect(byRole('shadow')).toBe(10);
    predictions.stop();
  });

  it('applies a KV split change within a second: canary takes buckets below its weight, shadow scores all', async () => {
    const kv = await new Kvm(nc).create('prognos-rollouts');
    const probe = low[0]!;
    const changedAt = Date.now();
    await kv.put(
      splitKey,
      JSON.stringify({
        stable: { version: 'v1' },
        canary: { version: 'v2', weight: 50 },
        shadow: { version: 'v3' },
      }),
    );
    // Probe until the canary scores a machine in its buckets.
    const canaryPredictions = collect(nc, `prognos.predictions.${NAMESPACE}.${MODEL}.${probe}`);
    await waitUntil(
      () => {
        nc.publish(readingSubject(probe), reading(2));
        return canaryPredictions.messages.some((m) => m.json.role === 'canary');
      },
      1000,
      () => 'canary did not take over within 1 s',
    );
    expect(Date.now() - changedAt).toBeLessThan(1000);
    canaryPredictions.stop();

    const predictions = collect(nc, `prognos.predictions.${NAMESPACE}.${MODEL}.>`);
    const ids = [...low.slice(1, 11), ...high.slice(0, 10)];
    for (const id of ids) nc.publish(readingSubject(id), reading(3));
    await predictions.waitFor(40);
    await new Promise((r) => setTimeout(r, 200));
    const machinesOf = (role: string) =>
      predictions.messages
        // Late answers to the probe above are not part of this check.
        .filter((m) => m.json.role === role && m.json.machineId !== probe)
        .map((m) => m.json.machineId)
        .sort();
    expect(machinesOf('canary')).toEqual(low.slice(1, 11).sort());
    expect(machinesOf('stable')).toEqual(high.slice(0, 10).sort());
    expect(machinesOf('shadow')).toEqual([...ids].sort());
    expect(await counter(stable, 'filtered')).toBeGreaterThanOrEqual(10);
    predictions.stop();
  });

  it('a deleted split returns to the default (stable serves all)', async () => {
    const kv = await new Kvm(nc).create('prognos-rollouts');
    await kv.delete(splitKey);
    const predictions = collect(nc, `prognos.predictions.${NAMESPACE}.${MODEL}.${low[0]}`);
    await waitUntil(
      () => {
        nc.publish(readingSubject(low[0]!), reading(4));
        return predictions.messages.some((m) => m.json.role === 'stable');
      },
      1000,
      () => 'stable did not take the machine back',
    );
    predictions.stop();
  });
});
