// Control of a running canary on the real cluster, NATS and pod runner: an operator restarted
// mid-rollout resumes from status (and acts on an annotation set while it was down), pause, resume,
// promote and promote-full each act once and are cleared, a spec change mid-rollout aborts and starts
// over on the newest version, every reading is still scored exactly once, and a candidate whose pods
// cannot start (the namespace's pod quota is used up) rolls back at its progress deadline.
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
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
import { eventReasons, PredictionLog, ReadingPublisher, readSplit } from './rolloutHarness.ts';

let ns: string;
let operator: PrognosOperator;
let nc: NatsConnection;
let predictions: PredictionLog;
let publisher: ReadingPublisher;
const files: Record<string, ModelFile> = {};
const MACHINES = Array.from({ length: 10 }, (_, i) => `m${i}`);

// Pauses far longer than the test: every step change below is the annotations' doing.
const rollout = {
  strategy: 'Canary',
  steps: [
    { weight: 20, pause: '1h' },
    { weight: 50, pause: '1h' },
  ],
  analysis: { interval: '5s', minSamples: 20, failureLimit: 2, maxErrorRate: 0.01, maxScoreDivergence: 0.5 },
};

const manifest = (version: string, extra: Record<string, unknown> = {}) =>
  modelManifest(
    ns,
    'pumps-rul',
    'pumps',
    { version, ...files[version]! },
    { rollout: { ...rollout, ...extra } },
  );

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- status read back as JSON
const model = async (): Promise<any> => getJson(ns, 'mm/pumps-rul');
const split = (): Promise<unknown> => readSplit(nc, ns, 'pumps-rul');
const annotate = (action: string) => ok(['annotate', '-n', ns, 'mm/pumps-rul', `prognos.dev/${action}=now`]);
const annotationCleared = (action: string) =>
  eventually(
    `the ${action} annotation cleared`,
    async () => (await model())?.metadata?.annotations?.[`prognos.dev/${action}`] === undefined,
  );
const count = (reasons: string[], reason: string) => reasons.filter((r) => r === reason).length;

beforeAll(async () => {
  await installCrds();
  ns = await createNamespace('op-rollout-ctl');
  operator = await startOperator(ns);
  ({ nc } = await natsClient());
  const dir = tempDir();
  for (const [version, seed] of [
    ['v1', 1],
    ['v2', 2],
    ['v3', 3],
    ['v4', 4],
  ] as const)
    files[version] = writeModel(dir, `${version}.onnx`, seed);
  predictions = new PredictionLog(nc, ns, 'pumps-rul');
  await applyObject(fleetManifest(ns, 'pumps', { stream: { maxAge: '1h', partitions: 10 } }));
  await waitCondition(ns, 'sf/pumps', 'StreamReady', 'True', undefined, 30_000);
  await applyObject(manifest('v1'));
  await waitCondition(ns, 'mm/pumps-rul', 'Ready', 'True', 'Serving', 120_000);
  publisher = new ReadingPublisher(jetstream(nc), `${ns}.pumps`, MACHINES, 250);
  publisher.start();
});

afterAll(async () => {
  await publisher?.stop();
  predictions?.stop();
  await operator?.stop();
  await nc?.close();
  if (ns) await deleteNamespace(ns);
});

describe('controlling a canary rollout', () => {
  it(
    'an operator restarted mid-rollout resumes it from status and acts on what was asked meanwhile',
    { timeout: 240_000 },
    async () => {
      await applyObject(manifest('v2'));
      await eventually(
        'the canary of v2 at 20%',
        async () => (await model())?.status?.rollout?.weight === 20,
        120_000,
      );
      const before = (await model()).status.rollout;
      const canaryUid = (await getJson(ns, 'deployment/pumps-rul-canary')).metadata.uid;

      await operator.stop();
      await annotate('pause');
      await new Promise((r) => setTimeout(r, 3_000));
      operator = await startOperator(ns);

      await annotationCleared('pause');
      const after = await eventually('paused', async () => {
        const mm = await model();
        return mm?.status?.rollout?.paused === true && mm.status.phase === 'Paused' ? mm : undefined;
      });
      // The same rollout, step and weight: nothing restarted, the canary's pods kept.
      expect(after.status.rollout).toMatchObject({
        startedAt: before.startedAt,
        target: { version: 'v2' },
        step: 0,
        weight: 20,
      });
      expect((await getJson(ns, 'deployment/pumps-rul-canary')).metadata.uid).toBe(canaryUid);
      expect(await split()).toEqual({
        stable: { version: 'v1' },
        canary: { version: 'v2', weight: 20, partitions: 2 },
      });
      expect(after.status.conditions).toEqual(
        expect.arrayContaining([expect.objectContaining({ type: 'Progressing', reason: 'RolloutPaused' })]),
      );
      const reasons = await eventReasons(ns, 'pumps-rul');
      expect(count(reasons, 'RolloutStarted')).toBe(1);
      expect(reasons).toContain('RolloutPaused');
    },
  );

  it('resume lifts the pause; promote ends the current step at once', { timeout: 120_000 }, async () => {
    await annotate('resume');
    await annotationCleared('resume');
    await eventually('resumed', async () => {
      const mm = await model();
      return mm?.status?.rollout?.paused === undefined && mm.status.phase === 'Progressing';
    });
    expect((await model()).status.rollout).toMatchObject({ step: 0, weight: 20 });
    expect(await eventReasons(ns, 'pumps-rul')).toContain('RolloutResumed');

    // The step's pause is an hour: only the annotation can end it.
    await annotate('promote');
    await annotationCleared('promote');
    await eventually('step 2 at 50%', async () => {
      const r = (await model())?.status?.rollout;
      return r?.step === 1 && r.weight === 50;
    });
    expect(await split()).toEqual({
      stable: { version: 'v1' },
      canary: { version: 'v2', weight: 50, partitions: 5 },
    });
  });

  it(
    'a spec change mid-rollout aborts it and starts over on the newest version',
    { timeout: 180_000 },
    async () => {
      await applyObject(manifest('v3'));
      await eventually(
        'the canary of v3 at 20%',
        async () => {
          const r = (await model())?.status?.rollout;
          return r?.target?.version === 'v3' && r.step === 0 && r.weight === 20;
        },
        120_000,
      );
      const mm = await model();
      const aborted = mm.status.history.find((h: { version: string }) => h.version === 'v2');
      expect(aborted).toMatchObject({ event: 'Aborted' });
      expect(aborted.message).toMatch(/replaced by v3/);
      expect(mm.status.stable.version).toBe('v1');
      expect(mm.status.rolledBack).toBeUndefined();
      expect((await getJson(ns, 'deployment/pumps-rul-canary')).spec.template.metadata.labels).toMatchObject({
        'prognos.dev/version': 'v3',
      });
      expect(await split()).toEqual({
        stable: { version: 'v1' },
        canary: { version: 'v3', weight: 20, partitions: 2 },
      });
      expect(await eventReasons(ns, 'pumps-rul')).toContain('RolloutAborted');
    },
  );

  it(
    'promote-full skips the remaining steps and promotes; every reading scored once throughout',
    { timeout: 240_000 },
    async () => {
      await annotate('promote-full');
      await annotationCleared('promote-full');
      await eventually(
        'v3 promoted to stable',
        async () => {
          const mm = await model();
          return mm?.status?.stable?.version === 'v3' && mm.status.rollout === undefined;
        },
        150_000,
      );
      const mm = await model();
      expect(mm.status.history[0]).toMatchObject({ event: 'Promoted', version: 'v3' });
      await eventually(
        'the split names v3 alone',
        async () => JSON.stringify(await split()) === '{"stable":{"version":"v3"}}',
      );
      await eventually(
        'the canary Deployment is gone',
        async () => (await getJson(ns, 'deployment/pumps-rul-canary')) === undefined,
        60_000,
      );

      const published = publisher.published;
      const upTo = published.length;
      await predictions.expectEachScoredOnce(published, upTo);
      expect(predictions.versions(published, upTo)).toEqual(new Set(['v1', 'v2', 'v3']));
    },
  );

  it(
    'a candidate whose pods cannot start rolls back at its progress deadline',
    { timeout: 180_000 },
    async () => {
      await publisher.stop();
      // The namespace's pod quota is what runs now: the canary's pods are refused at admission.
      const running = await eventually('only the stable pods', async () => {
        const pods = JSON.parse(await ok(['get', 'pods', '-n', ns, '-o', 'json'])) as {
          items: { metadata: { deletionTimestamp?: string; labels?: Record<string, string> } }[];
        };
        const live = pods.items.filter((p) => !p.metadata.deletionTimestamp);
        return live.every((p) => p.metadata.labels?.['prognos.dev/role'] === 'stable')
          ? live.length
          : undefined;
      });
      await applyObject({
        apiVersion: 'v1',
        kind: 'ResourceQuota',
        metadata: { name: 'pods', namespace: ns },
        spec: { hard: { pods: String(running) } },
      });
      await eventually(
        'the quota counted',
        async () => (await getJson(ns, 'resourcequota/pods'))?.status?.used?.pods === String(running),
      );

      await applyObject(manifest('v4', { progressDeadline: '15s' }));
      const rolledBack = await eventually(
        'v4 rolled back',
        async () => {
          const mm = await model();
          return mm?.status?.rolledBack?.version === 'v4' ? mm.status.rolledBack : undefined;
        },
        90_000,
      );
      expect(rolledBack).toMatchObject({ reason: 'ProgressDeadlineExceeded', sha256: files.v4!.sha256 });
      expect(rolledBack.message).toMatch(/progressDeadline 15s/);
      const mm = await model();
      expect(mm.status.stable.version).toBe('v3');
      expect(mm.status.history[0]).toMatchObject({ event: 'RolledBack', version: 'v4' });
      // The canary never had a partition.
      expect(JSON.stringify(await split())).toBe('{"stable":{"version":"v3"}}');
      const replicaSets = JSON.parse(await ok(['get', 'events', '-n', ns, '-o', 'json'])) as {
        items: { reason: string; message: string }[];
      };
      expect(
        replicaSets.items.some((e) => e.reason === 'FailedCreate' && /exceeded quota/.test(e.message)),
      ).toBe(true);
      await ok(['delete', 'resourcequota', 'pods', '-n', ns]);
    },
  );
});
