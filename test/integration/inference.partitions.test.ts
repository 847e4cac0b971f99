// Each machine scored by exactly one replica: a fleet stream partitioned 16 ways, the operator's
// consumers (one pinned_client consumer per partition, created by its own code), three runtime
// processes sharing the partitions out, and a one-replica reference on the same readings: a replay
// of NASA C-MAPSS FD001 (../shared/datasets; a synthetic stand-in of the same shape when absent), one
// machine per engine. The windowed model's predictions of the three equal the reference's for every
// engine; a SIGKILLed replica's partitions are scored again within the target, no reading is lost,
// and the engines that moved are flagged warming until their windows are full again.
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLinearRegressor } from '../../contracts/onnx/buildModel.ts';
import { DEMO_SENSORS, loadCmapss, syntheticCycles, type Cycle } from '../cluster/demo/cmapss.ts';
import {
  collect,
  connectTo,
  NAMESPACE,
  addModelConsumers,
  addPartitionedStream,
  partitionedInput,
  readingSubject,
  runtimeConfig,
  spawnRuntime,
  startTestNats,
  writeConfigFile,
  writeModelFile,
  type Collector,
  type ModelFile,
  type RuntimeProcess,
  type TestNats,
} from './inferenceHarness.ts';

const PARTITIONS = 16;
const STREAM = 'plant-a-pumps';
const MACHINES = 40;
const INPUTS = ['t24', 't30', 't50', 'ps30', 't24.mean', 't24.std', 'ps30.slope'];
/** Engines 1..MACHINES, cycle by cycle (every FD001 engine runs at least 128 cycles). */
const cycles = new Map<string, Cycle>();
for (const c of loadCmapss() ?? syntheticCycles(MACHINES))
  if (c.engine <= MACHINES) cycles.set(`${c.engine}/${c.cycle}`, c);
let nats: TestNats;
let nc: NatsConnection;
let js: JetStreamClient;
const processes: RuntimeProcess[] = [];
let replicas: RuntimeProcess[];
let consumers: Map<string, string[]>;
let modelFile: ModelFile;
let reference: Collector;
let scored: Collector;

/** Starts a runtime process for `model` bound to its 16 operator-made consumers. */
async function runtimeFor(model: string, pod: string): Promise<RuntimeProcess> {
  const config = runtimeConfig(nats.server.url, modelFile, {
    model,
    input: partitionedInput(STREAM, consumers.get(model)!),
    schema: {
      timestampField: 'ts',
      timestampFormat: 'UnixMillis',
      features: DEMO_SENSORS.map((f) => ({ name: f.name, min: f.min, max: f.max, required: true })),
    },
    windows: [
      { feature: 't24', size: 10, aggregations: ['mean', 'std'] },
      { feature: 'ps30', size: 10, aggregations: ['slope'] },
    ],
    artifact: { ...modelFile, inputs: INPUTS },
    task: 'regression',
    thresholds: { warning: 50, critical: 20, horizonCycles: 100 },
    fallback: { rules: [] },
  });
  const rt = await spawnRuntime(writeConfigFile(nats.dir, config, `${pod}.yaml`), { POD_NAME: pod });
  processes.push(rt);
  return rt;
}

const key = (json: Record<string, unknown>) => `${json.machineId as string}@${json.ts as number}`;

function byReading(c: Collector): Map<string, number[]> {
  const map = new Map<string, number[]>();
  for (const m of c.messages) map.set(key(m.json), [...(map.get(key(m.json)) ?? []), m.json.score as number]);
  return map;
}

/** Index of the round being published (shared with the failover test). */
let round = 0;

/** Cycles from..to-1 of every engine; cycle i of engine m is stamped t0 + i s + m ms. */
async function publish(from: number, to: number, t0: number, pauseMs = 0): Promise<void> {
  for (let i = from; i < to; i++) {
    round = i;
    for (let m = 0; m < MACHINES; m++) {
      const c = cycles.get(`${m + 1}/${i + 1}`)!;
      const body: Record<string, number> = { ts: t0 + i * 1000 + m };
      DEMO_SENSORS.forEach((f, j) => (body[f.name] = c.values[j]!));
      await js.publish(readingSubject(`pump-${m}`), JSON.stringify(body));
    }
    if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
  }
}

/** The consumers each replica said it owns, last time it logged it. */
function owned(rt: RuntimeProcess): string[] {
  const lines = rt.output.filter((l) => l.includes('"partitions owned"'));
  const last = lines.at(-1);
  return last ? (JSON.parse(last) as { consumers: string[] }).consumers : [];
}

beforeAll(async () => {
  nats = await startTestNats();
  nc = await connectTo(nats.server.url);
  await addPartitionedStream(nc, STREAM, PARTITIONS);
  consumers = new Map();
  for (const model of ['pump-failure', 'reference'])
    consumers.set(model, await addModelConsumers(nc, STREAM, PARTITIONS, model));
  js = jetstream(nc);
  // Linear in the window aggregations only: a reading scored on a half-empty window shows.
  modelFile = writeModelFile(
    nats.dir,
    'cmapss.onnx',
    buildLinearRegressor([0, 0, 0, 0, 1, 10, 100], 0).bytes,
  );
  reference = collect(nc, `prognos.predictions.${NAMESPACE}.reference.>`);
  scored = collect(nc, `prognos.predictions.${NAMESPACE}.pump-failure.>`);
  await runtimeFor('reference', 'reference-0');
  replicas = await Promise.all(['a', 'b', 'c'].map((p) => runtimeFor('pump-failure', `pump-failure-${p}`)));
  // Membership settles within a heartbeat or two: then the three own disjoint shares of the 16.
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && replicas.map(owned).flat().length !== PARTITIONS)
    await new Promise((r) => setTimeout(r, 200));
}, 120_000);

afterAll(async () => {
  reference?.stop();
  scored?.stop();
  await Promise.all(processes.map((p) => p.stop(5_000)));
  await nc?.close();
  await nats?.cleanup();
});

describe('a stream partitioned 16 ways, three replicas', () => {
  it('shares the partitions out: each owned by one replica', () => {
    const shares = replicas.map(owned);
    for (const share of shares) expect(share.length).toBeGreaterThan(0);
    expect(shares.flat().sort()).toEqual(
      Array.from({ length: PARTITIONS }, (_, p) => `prognos-pump-failure-stable-p${p}`).sort(),
    );
  });

  it('scores every machine exactly as one replica does, each reading once', async () => {
    const t0 = Date.now() - 600_000;
    await publish(0, 20, t0);
    await reference.waitFor(20 * MACHINES, 30_000);
    await scored.waitFor(20 * MACHINES, 30_000);
    const want = byReading(reference);
    const got = byReading(scored);
    expect(got.size).toBe(20 * MACHINES);
    for (const [reading, scores] of got) {
      expect(scores, `${reading} scored more than once`).toHaveLength(1);
      expect(scores[0], reading).toBeCloseTo(want.get(reading)![0]!, 6);
    }
  });

  it('a SIGKILLed replica: its partitions are scored again within 10 s, and no reading is lost', async () => {
    const victim = replicas[1]!;
    const t0 = Date.now() - 300_000;
    const before = scored.messages.length;
    // When each machine's first reading published after the kill was scored.
    let killedAt = 0;
    let firstRoundAfterKill = Infinity;
    const resumed = new Map<string, number>();
    const sub = nc.subscribe(`prognos.predictions.${NAMESPACE}.pump-failure.>`, {
      callback: (_err, msg) => {
        const p = msg.json<{ machineId: string; ts: number }>();
        if (!killedAt || p.ts < t0 + firstRoundAfterKill * 1000 || resumed.has(p.machineId)) return;
        resumed.set(p.machineId, Date.now() - killedAt);
      },
    });
    const flowing = publish(20, 60, t0, 250);
    await new Promise((r) => setTimeout(r, 1_500));
    await victim.kill();
    killedAt = Date.now();
    firstRoundAfterKill = round + 1;
    await flowing;
    const expected = Array.from({ length: 40 }, (_, k) => k + 20).flatMap((i) =>
      Array.from({ length: MACHINES }, (_, m) => `pump-${m}@${t0 + i * 1000 + m}`),
    );
    // Readings the victim took but never acked come back after the ack wait (30 s): wait for each
    // reading, not for a count (redelivered duplicates would reach a count first).
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && expected.some((r) => !byReading(scored).has(r)))
      await new Promise((r) => setTimeout(r, 250));
    sub.unsubscribe();
    const got = byReading(scored);
    expect(
      expected.filter((r) => !got.has(r)),
      'readings never scored',
    ).toEqual([]);
    expect(resumed.size).toBe(MACHINES);
    // The victim's machines start with empty windows on their new replica: flagged warming until the
    // windows are full (10 readings), then identical to the reference again.
    const want = byReading(reference);
    let warming = 0;
    let warmingMaxDiff = 0;
    let redelivered = 0;
    for (const { json } of scored.messages.slice(before)) {
      const diff = Math.abs((json.score as number) - want.get(key(json))![0]!);
      // A reading the victim took but never acked comes again, older than what the new owner has
      // scored since: flagged, scored on the current windows, and kept out of them.
      if (json.redelivered === true) redelivered++;
      else if (json.warming === true) {
        warming++;
        warmingMaxDiff = Math.max(warmingMaxDiff, diff);
      } else expect(diff, `${key(json)} after warm-up`).toBeLessThan(1e-6);
    }
    console.log(
      `moved machines: ${warming} warming predictions, at most ${warmingMaxDiff.toFixed(4)} from the reference; ${redelivered} redelivered`,
    );
    expect(warming).toBeGreaterThan(0);
    const worst = Math.max(...resumed.values());
    console.log(`after the SIGKILL, every machine was scored again within ${worst} ms`);
    expect(worst).toBeLessThanOrEqual(10_000);
    // The survivors took the victim's partitions over.
    expect(
      replicas
        .filter((r) => r !== victim)
        .map(owned)
        .flat(),
    ).toHaveLength(PARTITIONS);
  }, 120_000);

  it('scales 2 → 1 → 3 while readings flow: no reading lost or scored twice, equal to one replica once warm', async () => {
    const t0 = Date.now() - 100_000;
    const before = scored.messages.length;
    const beforeReference = reference.messages.length;
    const flowing = publish(60, 120, t0, 150);
    await new Promise((r) => setTimeout(r, 2_500));
    const live = replicas.filter((r) => r.child.exitCode === null && r.child.signalCode === null);
    expect(live).toHaveLength(2);
    expect(await live[1]!.stop(15_000)).toBe(0); // a graceful leave: acked, then unpinned
    await new Promise((r) => setTimeout(r, 2_500));
    expect(owned(live[0]!)).toHaveLength(PARTITIONS);
    const joined = await Promise.all(['d', 'e'].map((p) => runtimeFor('pump-failure', `pump-failure-${p}`)));
    await flowing;
    const expected = Array.from({ length: 60 }, (_, k) => k + 60).flatMap((i) =>
      Array.from({ length: MACHINES }, (_, m) => `pump-${m}@${t0 + i * 1000 + m}`),
    );
    const deadline = Date.now() + 60_000;
    const has = (c: Collector, r: string) => c.messages.some((m) => key(m.json) === r);
    while (Date.now() < deadline && expected.some((r) => !byReading(scored).has(r) || !has(reference, r)))
      await new Promise((r) => setTimeout(r, 250));
    const got = byReading(scored);
    expect(
      expected.filter((r) => !got.has(r)),
      'readings never scored',
    ).toEqual([]);
    const want = byReading(reference);
    let warming = 0;
    const seen = new Map<string, number>();
    for (const { json } of scored.messages.slice(before)) {
      seen.set(key(json), (seen.get(key(json)) ?? 0) + 1);
      if (json.redelivered === true) continue;
      if (json.warming === true) warming++;
      else
        expect(Math.abs((json.score as number) - want.get(key(json))![0]!), `${key(json)}`).toBeLessThan(
          1e-6,
        );
    }
    const twice = [...seen].filter(([, n]) => n > 1).map(([r]) => r);
    expect(twice, 'scored twice by a graceful handover').toEqual([]);
    expect(reference.messages.length - beforeReference).toBeGreaterThanOrEqual(expected.length);
    // The two that joined took partitions: every replica owns some, together all 16, none twice.
    const shares = [live[0]!, ...joined].map(owned);
    for (const share of shares) expect(share.length).toBeGreaterThan(0);
    expect(shares.flat().sort()).toEqual([...new Set(shares.flat())].sort());
    expect(shares.flat()).toHaveLength(PARTITIONS);
    console.log(`scaling 2 → 1 → 3: ${warming} warming predictions while partitions moved`);
  }, 150_000);
});
