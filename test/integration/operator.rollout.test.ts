// Canary rollouts over the broker, on the real cluster, NATS and pod runner: a new spec.model gets
// its own Deployment, takes the fleet's partitions step by step under analysis of the runtimes'
// telemetry, and is promoted with every reading scored once; a candidate whose scores diverge from
// the stable's is rolled back, stays rolled back until spec changes, and its pods go.
import { writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrognosOperator } from '../../operator/prognosOperator.ts';
import { buildMlpClassifier, randomLayers } from '../../contracts/onnx/buildModel.ts';
import {
  applyObject,
  createNamespace,
  deleteNamespace,
  eventually,
  fleetManifest,
  getJson,
  installCrds,
  MODEL_INPUTS,
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
let predictions: Subscription;
let v1: ModelFile;
let v2: ModelFile;
let bad: ModelFile;
/** `machine/ts` → the versions that predicted it, in order. */
const seen = new Map<string, string[]>();
const published: string[] = [];
let publishing = false;
let publisher: Promise<void> | undefined;
const MACHINES = Array.from({ length: 40 }, (_, i) => `m${i}`);

/** A classifier whose output is pushed to ~1 for every reading: its scores diverge from any other's. */
function writeShiftedModel(dir: string): ModelFile {
  const layers = randomLayers([MODEL_INPUTS.length, 8, 1], 3);
  layers.at(-1)!.b[0] = 40;
  const { bytes } = buildMlpClassifier(layers);
  const path = join(dir, 'shifted.onnx');
  writeFileSync(path, bytes);
  return { path, uri: `file://${path}`, sha256: createHash('sha256').update(bytes).digest('hex') };
}

const rollout = {
  strategy: 'Canary',
  steps: [
    { weight: 20, pause: '10s' },
    { weight: 50, pause: '10s' },
  ],
  analysis: { interval: '6s', minSamples: 20, failureLimit: 2, maxErrorRate: 0.01, maxScoreDivergence: 0.5 },
};

function manifest(version: string, file: ModelFile) {
  return modelManifest(ns, 'pumps-rul', 'pumps', { version, ...file }, { rollout });
}

function startPublishing(): void {
  publishing = true;
  publisher = (async () => {
    let ts = 0;
    while (publishing) {
      // Event time now (a reading from the future is dead-lettered), strictly increasing per machine.
      ts = Math.max(ts + 1, Date.now());
      for (const machine of MACHINES) {
        await js.publish(
          `${ns}.pumps.${machine}.readings`,
          JSON.stringify({ ts, vibration: 2 + (ts % 7), temperature: 60 + (ts % 5) }),
        );
        published.push(`${machine}/${ts}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
}

async function stopPublishing(): Promise<void> {
  publishing = false;
  await publisher;
}

/** Pending and unacknowledged messages per consumer of the fleet's stream. */
async function consumerBacklog(): Promise<Record<string, { pending: number; unacked: number }>> {
  const jsm = await jetstreamManager(nc);
  const backlog: Record<string, { pending: number; unacked: number }> = {};
  for await (const s of jsm.streams.list())
    if (s.config.name.includes(ns.toUpperCase().replaceAll('-', '_')))
      for await (const c of jsm.consumers.list(s.config.name))
        backlog[c.name] = { pending: c.num_pending, unacked: c.num_ack_pending };
  return backlog;
}

async function split(): Promise<unknown> {
  const kv = await new Kvm(nc).open('prognos-rollouts');
  const entry = await kv.get(`${ns}.pumps-rul`);
  return entry && entry.operation === 'PUT' ? entry.json() : undefined;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- status read back as JSON
const model = async (): Promise<any> => getJson(ns, 'mm/pumps-rul');

beforeAll(async () => {
  await installCrds();
  ns = await createNamespace('op-rollout');
  operator = await startOperator(ns);
  ({ nc } = await natsClient());
  js = jetstream(nc);
  const dir = tempDir();
  v1 = writeModel(dir, 'v1.onnx', 1);
  v2 = writeModel(dir, 'v2.onnx', 2);
  bad = writeShiftedModel(dir);
  predictions = nc.subscribe(`prognos.predictions.${ns}.pumps-rul.>`, {
    callback: (_err, msg) => {
      const p = msg.json<{ machineId: string; ts: number; modelVersion: string; redelivered?: boolean }>();
      const key = `${p.machineId}/${p.ts}`;
      seen.set(key, [...(seen.get(key) ?? []), p.modelVersion]);
    },
  });
  await applyObject(fleetManifest(ns, 'pumps', { stream: { maxAge: '1h', partitions: 10 } }));
  await waitCondition(ns, 'sf/pumps', 'StreamReady', 'True', undefined, 30_000);
  await applyObject(manifest('v1', v1));
  await waitCondition(ns, 'mm/pumps-rul', 'Ready', 'True', 'Serving', 120_000);
  startPublishing();
});

afterAll(async () => {
  publishing = false;
  await publisher;
  predictions?.unsubscribe();
  await operator?.stop();
  await nc?.close();
  if (ns) await deleteNamespace(ns);
});

describe('canary rollouts over the broker', () => {
  it(
    'walks a good version through its steps and promotes it, each reading scored once',
    { timeout: 420_000 },
    async () => {
      await applyObject(manifest('v2', v2));
      const weights = new Set<number>();
      await eventually(
        'the canary at 20% of the partitions, then 50%',
        async () => {
          const mm = await model();
          if (mm?.status?.canary?.weight) weights.add(mm.status.canary.weight);
          return weights.has(50);
        },
        120_000,
      );
      expect(weights.has(20)).toBe(true);
      const during = await model();
      expect(during.status).toMatchObject({
        phase: 'Progressing',
        stable: { version: 'v1' },
        rollout: {
          strategy: 'Canary',
          source: 'Spec',
          target: { version: 'v2', sha256: v2.sha256 },
          step: 1,
        },
      });
      expect(during.status.rollout.results[0]).toMatchObject({ verdict: 'Passed' });
      expect(await split()).toEqual({
        stable: { version: 'v1' },
        canary: { version: 'v2', weight: 50, partitions: 5 },
      });
      expect((await getJson(ns, 'deployment/pumps-rul-canary'))?.spec.template.metadata.labels).toMatchObject(
        {
          'prognos.dev/role': 'canary',
          'prognos.dev/version': 'v2',
        },
      );

      await eventually(
        'v2 promoted to stable',
        async () => {
          const mm = await model();
          return mm?.status?.stable?.version === 'v2' && mm.status.rollout === undefined;
        },
        180_000,
      );
      const after = await model();
      expect(after.status.phase).toBe('Stable');
      expect(after.status.history[0]).toMatchObject({ event: 'Promoted', version: 'v2' });
      expect(after.status.conditions).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ type: 'Progressing', reason: 'RolloutCompleted' }),
        ]),
      );
      await eventually(
        'the split names v2 alone',
        async () => JSON.stringify(await split()) === '{"stable":{"version":"v2"}}',
      );
      await eventually(
        'the canary Deployment is gone',
        async () => (await getJson(ns, 'deployment/pumps-rul-canary')) === undefined,
      );

      // Every reading published so far is scored, and none by both versions.
      const upTo = published.length;
      await eventually(
        'a prediction for every reading',
        async () => {
          const missing = published.slice(0, upTo).filter((k) => !seen.has(k));
          if (missing.length === 0) return true;
          // Says whether the readings are still queued (slow) or nowhere (lost).
          throw new Error(
            `${missing.length} of ${upTo} readings unscored (e.g. ${missing.slice(0, 5).join(', ')}); ` +
              `consumers: ${JSON.stringify(await consumerBacklog())}`,
          );
        },
        120_000,
      );
      const doubles = published.slice(0, upTo).filter((k) => new Set(seen.get(k)).size > 1);
      expect(doubles).toEqual([]);
      const versions = new Set(published.slice(0, upTo).flatMap((k) => seen.get(k) ?? []));
      expect(versions).toEqual(new Set(['v1', 'v2']));
      const events = await ok([
        'get',
        'events',
        '-n',
        ns,
        '--field-selector',
        'involvedObject.name=pumps-rul',
        '-o',
        'json',
      ]);
      const reasons = (JSON.parse(events) as { items: { reason: string }[] }).items.map((e) => e.reason);
      expect(reasons).toEqual(
        expect.arrayContaining(['RolloutStarted', 'StepCompleted', 'RolloutCompleted']),
      );
    },
  );

  it(
    'rolls back a version whose scores diverge, names the check, and does not retry it',
    { timeout: 300_000 },
    async () => {
      await applyObject(manifest('v3', bad));
      await eventually(
        'rolled back',
        async () => (await model())?.status?.rolledBack?.version === 'v3',
        180_000,
      );
      const mm = await model();
      expect(mm.status.rolledBack).toMatchObject({ reason: 'AnalysisFailed', sha256: bad.sha256 });
      expect(mm.status.rolledBack.message).toMatch(/scoreDivergence [0-9.]+ > maxScoreDivergence 0.5/);
      expect(mm.status.stable.version).toBe('v2');
      expect(mm.status.history[0]).toMatchObject({ event: 'RolledBack', version: 'v3' });
      expect(JSON.stringify(await split())).toBe('{"stable":{"version":"v2"}}');
      await eventually(
        'RolledBack once the canary pods are gone',
        async () => {
          const now = await model();
          return (
            now?.status?.phase === 'RolledBack' &&
            (await getJson(ns, 'deployment/pumps-rul-canary')) === undefined
          );
        },
        90_000,
      );
      const progressing = (await model()).status.conditions.find(
        (c: { type: string }) => c.type === 'Progressing',
      );
      expect(progressing).toMatchObject({ status: 'False', reason: 'AnalysisFailed' });
      // Still rolled back a while later: the version is not retried while spec names it.
      await new Promise((r) => setTimeout(r, 5_000));
      expect((await model()).status.rollout).toBeUndefined();
    },
  );

  it('the retry annotation starts it again, and abort ends it at once', { timeout: 180_000 }, async () => {
    await ok(['annotate', '-n', ns, 'mm/pumps-rul', 'prognos.dev/retry=now']);
    await eventually(
      'a rollout again',
      async () => (await model())?.status?.rollout?.target?.version === 'v3',
      60_000,
    );
    await eventually(
      'the retry annotation is cleared',
      async () => (await model())?.metadata?.annotations?.['prognos.dev/retry'] === undefined,
    );
    await ok(['annotate', '-n', ns, 'mm/pumps-rul', 'prognos.dev/abort=now']);
    await eventually(
      'aborted',
      async () => (await model())?.status?.rolledBack?.reason === 'Aborted',
      60_000,
    );
    const mm = await model();
    expect(mm.metadata.annotations?.['prognos.dev/abort']).toBeUndefined();
    expect(mm.status.history[0]).toMatchObject({ event: 'Aborted', version: 'v3' });
    expect(JSON.stringify(await split())).toBe('{"stable":{"version":"v2"}}');
    await stopPublishing();
  });
});
