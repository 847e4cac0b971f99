// Shadow rollouts over the broker, on the real cluster, NATS and pod runner: the new version reads
// every reading a second time through consumers of its own, publishes its predictions as role
// shadow and no alerts, is judged on agreement with the stable reading by reading, and is promoted
// through a 100% canary with every reading scored once by a serving version; a shadow that
// disagrees is rolled back naming the check, and its consumers go.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
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
  startOperator,
  tempDir,
  waitCondition,
} from './operatorHarness.ts';
import { ReadingPublisher, streamConsumers } from './rolloutHarness.ts';

let ns: string;
let operator: PrognosOperator;
let nc: NatsConnection;
let js: JetStreamClient;
let subs: Subscription[] = [];
let v1: ModelFile;
let twin: ModelFile;
let shifted: ModelFile;
/** `machine/ts` → the serving (non-shadow) versions that predicted it. */
const served = new Map<string, string[]>();
const shadowPredictions: string[] = [];
const alertRoles = new Set<string>();
let publisher: ReadingPublisher;
const MACHINES = Array.from({ length: 20 }, (_, i) => `m${i}`);

/** A classifier from the seed's layers with the output bias moved by `bias`. */
function writeVariant(dir: string, name: string, bias: number): ModelFile {
  const layers = randomLayers([MODEL_INPUTS.length, 8, 1], 1);
  layers.at(-1)!.b[0] = layers.at(-1)!.b[0]! + bias;
  const { bytes } = buildMlpClassifier(layers);
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return { path, uri: `file://${path}`, sha256: createHash('sha256').update(bytes).digest('hex') };
}

const rollout = {
  strategy: 'Shadow',
  shadowDuration: '15s',
  analysis: { interval: '5s', minSamples: 20, failureLimit: 2, maxErrorRate: 0.01, minShadowAgreement: 0.9 },
};

const manifest = (version: string, file: ModelFile) =>
  modelManifest(ns, 'pumps-rul', 'pumps', { version, ...file }, { rollout });

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- status read back as JSON
const model = async (): Promise<any> => getJson(ns, 'mm/pumps-rul');

async function shadowConsumers(): Promise<string[]> {
  return Object.keys(await streamConsumers(nc, ns)).filter((name) => name.includes('-shadow-'));
}

beforeAll(async () => {
  await installCrds();
  ns = await createNamespace('op-shadow');
  operator = await startOperator(ns);
  ({ nc } = await natsClient());
  js = jetstream(nc);
  const dir = tempDir();
  // The seed's logits are large: a bias of ∓1000 pins the probability to 0 (ok) or 1 (critical).
  v1 = writeVariant(dir, 'v1.onnx', -1000);
  // The same severity as v1 on every reading, from other bytes.
  twin = writeVariant(dir, 'twin.onnx', -999);
  // Critical on every reading where v1 is ok.
  shifted = writeVariant(dir, 'shifted.onnx', 1000);
  subs = [
    nc.subscribe(`prognos.predictions.${ns}.pumps-rul.>`, {
      callback: (_err, msg) => {
        const p = msg.json<{ machineId: string; ts: number; modelVersion: string; role: string }>();
        const key = `${p.machineId}/${p.ts}`;
        if (p.role === 'shadow') shadowPredictions.push(key);
        else served.set(key, [...(served.get(key) ?? []), p.modelVersion]);
      },
    }),
    nc.subscribe(`prognos.alerts.${ns}.pumps-rul.>`, {
      callback: (_err, msg) => {
        alertRoles.add(msg.json<{ role?: string }>().role ?? 'unknown');
      },
    }),
  ];
  await applyObject(fleetManifest(ns, 'pumps', { stream: { maxAge: '1h', partitions: 4 } }));
  await waitCondition(ns, 'sf/pumps', 'StreamReady', 'True', undefined, 30_000);
  await applyObject(manifest('v1', v1));
  await waitCondition(ns, 'mm/pumps-rul', 'Ready', 'True', 'Serving', 120_000);
  publisher = new ReadingPublisher(js, `${ns}.pumps`, MACHINES, 100);
  publisher.start();
});

afterAll(async () => {
  await publisher?.stop();
  for (const s of subs) s.unsubscribe();
  await operator?.stop();
  await nc?.close();
  if (ns) await deleteNamespace(ns);
});

describe('shadow rollouts over the broker', () => {
  it(
    'a shadow that agrees runs its duration beside the stable, then is promoted; every reading served once',
    { timeout: 300_000 },
    async () => {
      await applyObject(manifest('v2', twin));
      await eventually(
        'the shadow scoring beside the stable',
        async () => {
          const mm = await model();
          return mm?.status?.shadow?.version === 'v2' && (mm.status.rollout?.results?.[0]?.samples ?? 0) > 0;
        },
        120_000,
      );
      const during = await model();
      expect(during.status).toMatchObject({
        phase: 'Progressing',
        rollout: { strategy: 'Shadow', target: { version: 'v2' }, weight: 0 },
      });
      expect(during.status.conditions).toEqual(
        expect.arrayContaining([expect.objectContaining({ type: 'Progressing', reason: 'ShadowRun' })]),
      );
      expect((await getJson(ns, 'deployment/pumps-rul-shadow'))?.spec.template.metadata.labels).toMatchObject(
        {
          'prognos.dev/role': 'shadow',
          'prognos.dev/version': 'v2',
        },
      );
      expect((await shadowConsumers()).sort()).toEqual(
        [0, 1, 2, 3].map((p) => `prognos-pumps-rul-shadow-p${p}`),
      );

      await eventually(
        'a passed interval with the agreement measured',
        async () => {
          const r = (await model())?.status?.rollout?.results?.[0];
          return r?.verdict === 'Passed' && r.shadowAgreement >= 0.9;
        },
        90_000,
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
      expect(after.status.history[0]).toMatchObject({ event: 'Promoted', version: 'v2' });
      await eventually(
        'the shadow Deployment is gone',
        async () => (await getJson(ns, 'deployment/pumps-rul-shadow')) === undefined,
      );
      await eventually('the shadow consumers are gone', async () => (await shadowConsumers()).length === 0);

      expect(shadowPredictions.length).toBeGreaterThan(0);
      expect(alertRoles.has('shadow')).toBe(false);
      const published = publisher.published;
      const upTo = published.length;
      await eventually(
        'a served prediction for every reading',
        async () => published.slice(0, upTo).every((k) => served.has(k)),
        90_000,
      );
      const doubles = published.slice(0, upTo).filter((k) => new Set(served.get(k)).size > 1);
      expect(doubles).toEqual([]);
    },
  );

  it('a shadow that disagrees is rolled back naming the agreement check', { timeout: 240_000 }, async () => {
    await applyObject(manifest('v3', shifted));
    await eventually(
      'rolled back',
      async () => (await model())?.status?.rolledBack?.version === 'v3',
      150_000,
    );
    const mm = await model();
    expect(mm.status.rolledBack).toMatchObject({ reason: 'AnalysisFailed', sha256: shifted.sha256 });
    expect(mm.status.rolledBack.message).toMatch(/shadowAgreement [0-9.]+ < minShadowAgreement 0.9/);
    expect(mm.status.stable.version).toBe('v2');
    // The shifted model is critical on every reading: had the shadow published alerts, they would be here.
    expect(alertRoles.has('shadow')).toBe(false);
    await eventually('the shadow consumers are gone', async () => (await shadowConsumers()).length === 0);
    await eventually(
      'the shadow Deployment is gone',
      async () => (await getJson(ns, 'deployment/pumps-rul-shadow')) === undefined,
      90_000,
    );
  });
});
