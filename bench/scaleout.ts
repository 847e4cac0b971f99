// Scale-out benchmark: `npm run bench:scaleout -- --json`.
//
// A real nats-server with a fleet stream partitioned 16 ways and the operator's consumers (one
// pinned_client consumer per partition, made by its own code). The same readings (MACHINES machines,
// ROUNDS readings each, a windowed MLP) are scored by one runtime process, then by three sharing the
// partitions; then, while readings flow, one of the three is SIGKILLed. Reported:
// - cpuPerReadingRatio: CPU per reading of the three (their processes, /proc) over the one's (≤ 1.1),
//   each after taking out what the processes spend idle (heartbeats, telemetry), measured just before;
// - identicalPerMachine: every machine's predictions, in reading order, equal between 1 and 3
//   replicas (both start with empty windows, so warming predictions compare too);
// - lostReadings: readings published and never scored (0), in each phase and across the SIGKILL;
// - failoverSeconds: from the SIGKILL until every machine is scored again (≤ 10).
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  addModelConsumers,
  addPartitionedStream,
  collect,
  connectTo,
  NAMESPACE,
  partitionedInput,
  readingSubject,
  runtimeConfig,
  spawnRuntime,
  startTestNats,
  writeClassifier,
  writeConfigFile,
  type Collector,
  type RuntimeProcess,
  type TestNats,
} from '../test/integration/inferenceHarness.ts';
import { machineTicks, processCpuMs } from './procStats.ts';

const PARTITIONS = 16;
const STREAM = 'plant-a-pumps';
const MACHINES = 64;
const ROUNDS = 600;
/** Idle CPU (heartbeats, telemetry, timers) is measured this long and taken out of the per-reading cost. */
const IDLE_MS = 4_000;
const LIMITS = { cpuPerReadingRatio: 1.1, failoverSeconds: 10, lostReadings: 0 };

const round = (x: number, digits = 2): number => Number(x.toFixed(digits));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (msg: string) => process.stderr.write(`[bench:scaleout] ${msg}\n`);

interface Context {
  nats: TestNats;
  nc: NatsConnection;
  js: JetStreamClient;
}

async function runtimes(ctx: Context, model: string, count: number): Promise<RuntimeProcess[]> {
  // Made just before the phase, from new readings: a phase scores its own readings only.
  const consumers = await addModelConsumers(ctx.nc, STREAM, PARTITIONS, model);
  const config = runtimeConfig(ctx.nats.server.url, writeClassifier(ctx.nats.dir), {
    model,
    input: partitionedInput(STREAM, consumers),
  });
  const path = writeConfigFile(ctx.nats.dir, config, `${model}.yaml`);
  const started = await Promise.all(
    Array.from({ length: count }, (_, i) => spawnRuntime(path, { POD_NAME: `${model}-${i}` })),
  );
  // The replicas hear each other and share the partitions out within a couple of heartbeats.
  await sleep(3_000);
  return started;
}

/** The reading of machine m in round i: the same values in every phase, timestamps apart. */
const body = (t0: number, i: number, m: number) =>
  JSON.stringify({
    ts: t0 + i * 1000 + m,
    vibration: 2 + ((i * 7 + m * 3) % 11),
    temperature: 60 + ((i + m) % 9),
    pressure: 3 + (m % 3),
  });

async function publish(ctx: Context, t0: number, from: number, to: number, pauseMs = 0): Promise<void> {
  for (let i = from; i < to; i++) {
    await Promise.all(
      Array.from({ length: MACHINES }, (_, m) => ctx.js.publish(readingSubject(`pump-${m}`), body(t0, i, m))),
    );
    if (pauseMs) await sleep(pauseMs);
  }
}

/** Scores per machine in reading order, one per reading (duplicates from redelivery dropped). */
function perMachine(c: Collector): Map<string, number[]> {
  const byReading = new Map<string, { machine: string; ts: number; score: number }>();
  for (const { json } of c.messages)
    byReading.set(`${json.machineId as string}@${json.ts as number}`, {
      machine: json.machineId as string,
      ts: json.ts as number,
      score: json.score as number,
    });
  const out = new Map<string, number[]>();
  for (const r of [...byReading.values()].sort((a, b) => a.ts - b.ts))
    out.set(r.machine, [...(out.get(r.machine) ?? []), r.score]);
  return out;
}

const cpuOf = (procs: RuntimeProcess[]) => procs.reduce((sum, p) => sum + processCpuMs(p.child.pid!), 0);

/** Scores the readings with `count` replicas; returns their CPU per reading (µs) and what they said. */
async function phase(ctx: Context, model: string, count: number, t0: number) {
  const procs = await runtimes(ctx, model, count);
  const predictions = collect(ctx.nc, `prognos.predictions.${NAMESPACE}.${model}.>`);
  await ctx.nc.flush();
  const idle0 = cpuOf(procs);
  await sleep(IDLE_MS);
  const idlePerMs = (cpuOf(procs) - idle0) / IDLE_MS;
  const cpu0 = cpuOf(procs);
  const started = performance.now();
  await publish(ctx, t0, 0, ROUNDS);
  const total = ROUNDS * MACHINES;
  await predictions.waitFor(total, 180_000).catch(() => undefined);
  const busyMs = performance.now() - started;
  const cpuUs = ((cpuOf(procs) - cpu0 - idlePerMs * busyMs) * 1000) / total;
  predictions.stop();
  const scores = perMachine(predictions);
  const scored = [...scores.values()].reduce((n, s) => n + s.length, 0);
  log(
    `${count} replica(s): ${cpuUs.toFixed(1)} µs CPU per reading (idle ${(idlePerMs * 1000).toFixed(0)} µs/ms taken out), ${scored}/${total} scored`,
  );
  return { procs, cpuUs, idleCpuPercent: idlePerMs * 100, scores, lost: total - scored };
}

async function failover(ctx: Context, procs: RuntimeProcess[], model: string, t0: number) {
  const predictions = collect(ctx.nc, `prognos.predictions.${NAMESPACE}.${model}.>`);
  let killedAt = 0;
  let afterKillTs = Infinity;
  const resumed = new Map<string, number>();
  const sub = ctx.nc.subscribe(`prognos.predictions.${NAMESPACE}.${model}.>`, {
    callback: (_e, msg) => {
      const p = msg.json<{ machineId: string; ts: number }>();
      if (killedAt && p.ts >= afterKillTs && !resumed.has(p.machineId))
        resumed.set(p.machineId, Date.now() - killedAt);
    },
  });
  const rounds = 60;
  let published = 0;
  const flowing = (async () => {
    for (let i = 0; i < rounds; i++) {
      await publish(ctx, t0, i, i + 1);
      published = i + 1;
      await sleep(200);
    }
  })();
  await sleep(2_000);
  await procs[1]!.kill();
  killedAt = Date.now();
  afterKillTs = t0 + published * 1000;
  await flowing;
  // The victim's unacked readings come back after the ack wait (30 s).
  await predictions.waitFor(rounds * MACHINES, 60_000).catch(() => undefined);
  sub.unsubscribe();
  predictions.stop();
  const scored = [...perMachine(predictions).values()].reduce((n, s) => n + s.length, 0);
  const worstMs = resumed.size === MACHINES ? Math.max(...resumed.values()) : Infinity;
  log(`failover: every machine scored again after ${worstMs} ms; ${scored}/${rounds * MACHINES} scored`);
  return { failoverSeconds: worstMs / 1000, lost: rounds * MACHINES - scored };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { json: { type: 'boolean', default: false } } });
  const loadAtStart = loadavg()[0]!;
  const ticks0 = machineTicks();
  const nats = await startTestNats();
  const nc = await connectTo(nats.server.url);
  const procs: RuntimeProcess[] = [];
  try {
    await addPartitionedStream(nc, STREAM, PARTITIONS);
    const ctx: Context = { nats, nc, js: jetstream(nc) };
    const t0 = Date.now() - 3_600_000;
    const one = await phase(ctx, 'one-replica', 1, t0);
    procs.push(...one.procs);
    await Promise.all(one.procs.map((p) => p.stop(5_000)));
    const three = await phase(ctx, 'three-replicas', 3, t0 + 1_000_000);
    procs.push(...three.procs);
    const mismatched = [...one.scores].filter(([machine, scores]) => {
      const other = three.scores.get(machine) ?? [];
      return other.length !== scores.length || scores.some((s, i) => Math.abs(s - other[i]!) > 1e-6);
    });
    const kill = await failover(ctx, three.procs, 'three-replicas', t0 + 2_000_000);
    const ticks1 = machineTicks();
    const ratio = three.cpuUs / one.cpuUs;
    const lost = one.lost + three.lost + kill.lost;
    const result = {
      benchmark: 'scaleout',
      date: new Date().toISOString(),
      setup: {
        partitions: PARTITIONS,
        machines: MACHINES,
        readingsPerPhase: ROUNDS * MACHINES,
        model:
          'MLP over 5 inputs (3 raw, vibration.mean and .std over a 10-reading window), occlusion contributions',
        consumers: 'operator-made, one pinned_client consumer per partition (consumers.ts)',
      },
      cpuUsPerReading: { oneReplica: round(one.cpuUs, 1), threeReplicas: round(three.cpuUs, 1) },
      idleCpuPercent: {
        oneReplica: round(one.idleCpuPercent, 1),
        threeReplicas: round(three.idleCpuPercent, 1),
      },
      cpuPerReadingRatio: round(ratio),
      identicalPerMachine: mismatched.length === 0,
      machinesDiffering: mismatched.length,
      lostReadings: lost,
      failoverSeconds: round(kill.failoverSeconds, 1),
      targets: {
        cpuPerReadingRatio: {
          value: round(ratio),
          max: LIMITS.cpuPerReadingRatio,
          pass: ratio <= LIMITS.cpuPerReadingRatio,
        },
        identicalPerMachine: { value: mismatched.length === 0, pass: mismatched.length === 0 },
        lostReadings: { value: lost, max: LIMITS.lostReadings, pass: lost === 0 },
        failoverSeconds: {
          value: round(kill.failoverSeconds, 1),
          max: LIMITS.failoverSeconds,
          pass: kill.failoverSeconds <= LIMITS.failoverSeconds,
        },
      },
      host: {
        cpus: cpus().length,
        loadAverage1mAtStart: round(loadAtStart),
        loadAverage1mAtEnd: round(loadavg()[0]!),
        stealPercent: round((100 * (ticks1.steal - ticks0.steal)) / (ticks1.total - ticks0.total), 1),
      },
    };
    console.log(values.json ? JSON.stringify(result) : JSON.stringify(result, null, 2));
  } finally {
    await Promise.all(procs.map((p) => p.stop(5_000).catch(() => undefined)));
    await nc.close().catch(() => undefined);
    await nats.cleanup();
  }
}

await main();
