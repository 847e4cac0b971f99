// The closed loop on the local cluster with real parts: a RetrainPolicy (promotion Auto) on a model
// serving a weak first RUL model; the retrain annotation starts a training Job (the real trainer,
// LightGBM, on 20 C-MAPSS FD001 engines replayed from JetStream); its candidate beats the stable on
// the trainer's holdout, passes the gate, and the MaintenanceModel rolls it out as a canary under
// analysis and promotes it, spec untouched. Then a candidate that loses the gate, a Job that fails, an
// operator restarted mid-Job under Manual promotion, a schedule inside the cooldown, and a policy
// deleted mid-Job.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { MODELS_BUCKET } from '../../contracts/training.ts';
import type { PrognosOperator } from '../../operator/prognosOperator.ts';
import { sha256Hex } from '../../runtimes/inference/scoring/artifact.ts';
import { repoRoot } from '../cluster/binaries.ts';
import {
  cycleTs,
  engineId,
  type EngineCycle,
  fd001Present,
  fleetYaml,
  INPUTS,
  modelYaml,
  readFd001,
  readingLine,
  writeCmapssFiles,
} from './cmapssFiles.ts';
import { testEnv } from './env.ts';
import {
  applyObject,
  createNamespace,
  deleteNamespace,
  eventually,
  getJson,
  installCrds,
  natsClient,
  objectEvents,
  ok,
  startOperator,
  waitCondition,
} from './operatorHarness.ts';

const run = promisify(execFile);
const ENGINES = 20;

let ns: string;
let dir: string;
let operator: PrognosOperator;
let nc: NatsConnection;
let js: JetStreamClient;
let stable: { version: string; uri: string; sha256: string };
let live = true;
/** The policy's uid prefix names its candidates (job.ts candidateVersion). */
let policyUid = '';
const rt = (run: number) => `turbofan-rul-rt-${run}-${policyUid.slice(0, 6)}`;
let liveFeed: Promise<void> | undefined;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- manifests as kubectl returns them
type Json = any;

const subject = (engine: number) => `${ns}.turbofans.${engineId(engine)}.readings`;

function fleetObject(): Json {
  const fleet = parseYaml(fleetYaml) as Json;
  fleet.metadata.namespace = ns;
  fleet.spec.nats.url = testEnv().natsUrl;
  // Machine ids in a subject token: two partitions, so a canary can take one.
  fleet.spec.subject = `${ns}.turbofans.*.readings`;
  fleet.spec.machineId = { subjectToken: 3 };
  fleet.spec.labels = { subject: `${ns}.turbofans.*.maintenance` };
  fleet.spec.stream = { maxAge: '6h', partitions: 2 };
  fleet.spec.deletionPolicy = 'Delete';
  return fleet;
}

function modelObject(): Json {
  const mm = parseYaml(modelYaml) as Json;
  mm.metadata.namespace = ns;
  mm.spec.model = { ...stable, inputs: INPUTS };
  mm.spec.serving = { replicas: 1 };
  mm.spec.rollout = {
    strategy: 'Canary',
    steps: [{ weight: 50, pause: '5s' }],
    analysis: { interval: '5s', minSamples: 5, failureLimit: 3, maxErrorRate: 0.05 },
  };
  return mm;
}

function policyObject(evaluation: Json = { metric: 'rmse', mustBeatStable: true }): Json {
  return {
    apiVersion: 'prognos.dev/v1alpha1',
    kind: 'RetrainPolicy',
    metadata: { name: 'turbofan-retrain', namespace: ns },
    spec: {
      modelRef: { name: 'turbofan-rul' },
      // A yearly schedule never fires in the test: runs start with the retrain annotation.
      triggers: { schedule: '@yearly' },
      cooldown: '1h',
      training: {
        dataWindow: '6h',
        timeout: '15m',
        backoffLimit: 0,
        template: { spec: { containers: [{ name: 'trainer', args: ['--rounds', '200'] }] } },
      },
      evaluation,
      promotion: 'Auto',
    },
  };
}

const conditionOf = (p: Json, type: string): Json => p.status.conditions.find((c: Json) => c.type === type);

const eventsOf = (name: string) => objectEvents(ns, name);

const policy = async (): Promise<Json> => getJson(ns, 'retrainpolicy/turbofan-retrain');
const model = async (): Promise<Json> => getJson(ns, 'mm/turbofan-rul');

async function retrain(): Promise<void> {
  await ok([
    'annotate',
    '--overwrite',
    '-n',
    ns,
    'retrainpolicy/turbofan-retrain',
    'prognos.dev/retrain=now',
  ]);
}

async function historyOf(job: string): Promise<Json> {
  return eventually(
    `${job} recorded in the policy's history`,
    async () => ((await policy())?.status?.history as Json[] | undefined)?.find((h) => h.job === job),
    600_000,
  );
}

/** Keeps readings flowing at event time now (one per engine a second), for the canary's analysis. */
function feedLive(engines: Map<number, EngineCycle[]>): void {
  liveFeed = (async () => {
    let i = 0;
    while (live) {
      const ts = Math.floor(Date.now() / 1000);
      for (const [engine, cycles] of engines) {
        const c = cycles[i % Math.min(cycles.length, 100)]!;
        const line = JSON.parse(readingLine(c)) as Record<string, number | string>;
        await js.publish(subject(engine), JSON.stringify({ ...line, ts }));
      }
      i += 1;
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
}

describe.skipIf(!fd001Present())('the closed loop: retrain, gate, Auto rollout, promotion', () => {
  beforeAll(async () => {
    await installCrds();
    ns = await createNamespace('retrain-loop');
    dir = await mkdtemp(join(tmpdir(), 'prognos-retrain-loop-'));
    const engines = new Map([...readFd001()].filter(([engine]) => engine <= ENGINES));

    // A weak first model: twenty boosting rounds on three engines.
    const files = await writeCmapssFiles(dir, new Map([...engines].slice(0, 3)));
    const out = join(dir, 'v1.onnx');
    const args = ['train', '--fleet', files.fleet, '--model', files.model, '--readings', files.readings];
    args.push('--events', files.events, '--out', out, '--metrics', join(dir, 'v1.json'), '--rounds', '20');
    await run(join(repoRoot, 'scripts', 'node24'), [join(repoRoot, 'runtimes/trainer/main.ts'), ...args]);
    stable = { version: 'v1', uri: `file://${out}`, sha256: sha256Hex(await readFile(out)) };

    operator = await startOperator(ns);
    await applyObject(fleetObject());
    await waitCondition(ns, 'sf/turbofans', 'StreamReady', 'True');
    await applyObject(modelObject());
    await waitCondition(ns, 'mm/turbofan-rul', 'Ready', 'True', 'Serving', 180_000);

    ({ nc } = await natsClient());
    js = jetstream(nc);
    for (const [engine, cycles] of engines) {
      await Promise.all(cycles.map((c) => js.publish(subject(engine), readingLine(c))));
      await js.publish(
        `${ns}.turbofans.${engineId(engine)}.maintenance`,
        JSON.stringify({ engine_id: engineId(engine), event: 'failure', ts: cycleTs(cycles.at(-1)!.cycle) }),
      );
    }
    feedLive(engines);
    await applyObject(policyObject());
    await waitCondition(ns, 'retrainpolicy/turbofan-retrain', 'Ready', 'True', 'Watching');
    policyUid = (await policy()).metadata.uid;
  });

  afterAll(async () => {
    live = false;
    await liveFeed;
    await operator?.stop();
    if (nc) {
      const store = await new Objm(nc).open(MODELS_BUCKET).catch(() => undefined);
      for (const info of (await store?.list().catch(() => [])) ?? [])
        if (info.name.startsWith(`${ns}/`)) await store?.delete(info.name).catch(() => undefined);
      await nc.close();
    }
    if (ns) await deleteNamespace(ns);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(
    'trains on the retrain annotation, gates the candidate and rolls it out to stable with no one writing spec',
    { timeout: 900_000 },
    async () => {
      const before = await model();
      await retrain();
      const first = await eventually(
        'the training Job',
        async () => (await policy())?.status?.activeJob,
        60_000,
      );
      expect(first).toMatchObject({ name: 'turbofan-retrain-1', trigger: 'Manual' });
      const job = await getJson(ns, 'job/turbofan-retrain-1');
      expect(job.metadata.ownerReferences[0]).toMatchObject({ kind: 'RetrainPolicy', controller: true });
      expect(job.spec.template.spec.containers[0].args).toEqual(['job', '--rounds', '200']);
      await eventually(
        'the retrain annotation removed',
        async () => (await policy())?.metadata?.annotations?.['prognos.dev/retrain'] === undefined,
      );

      const run1 = await historyOf('turbofan-retrain-1');
      expect(run1).toMatchObject({ outcome: 'Succeeded', trigger: 'Manual', candidate: rt(1) });
      const candidate = (await policy()).status.candidates[0];
      expect(candidate).toMatchObject({
        version: rt(1),
        uri: `nats-os://${MODELS_BUCKET}/${ns}/turbofan-rul/${rt(1)}.onnx`,
        job: 'turbofan-retrain-1',
        trigger: 'Manual',
      });
      // The weak stable loses on the trainer's holdout: RMSE is an error, lower is better.
      expect(candidate.metric).toBeLessThan(candidate.stableMetric);
      expect(candidate.verdict === 'Passed' || candidate.verdict === 'Promoted').toBe(true);

      const rolling = await eventually(
        'the model rolling the candidate out',
        async () => {
          const mm = await model();
          return mm?.status?.rollout?.source === 'RetrainPolicy' ? mm : undefined;
        },
        120_000,
      );
      expect(rolling.status.rollout).toMatchObject({
        policy: 'turbofan-retrain',
        target: { version: rt(1), sha256: candidate.sha256 },
      });
      const promoted = await eventually(
        'the candidate promoted to stable',
        async () => {
          const mm = await model();
          return mm?.status?.stable?.version === rt(1) && !mm.status.rollout ? mm : undefined;
        },
        300_000,
      );
      expect(promoted.status.source).toBe(`retrainpolicy/turbofan-retrain (candidate ${rt(1)})`);
      expect(promoted.status.autoPromoted).toMatchObject({
        policy: 'turbofan-retrain',
        version: rt(1),
        sha256: candidate.sha256,
        over: stable.sha256,
      });
      // Spec was never written.
      expect(promoted.metadata.generation).toBe(before.metadata.generation);
      expect(promoted.spec.model.sha256).toBe(stable.sha256);
      await eventually(
        'the candidate marked Promoted',
        async () => (await policy())?.status?.candidates?.[0]?.verdict === 'Promoted',
      );
      const promotable = (await policy()).status.conditions.find((c: Json) => c.type === 'Promotable');
      expect(promotable).toMatchObject({ status: 'False', reason: 'Promoted' });
      // It keeps serving: the spec.model it replaced is not rolled out again.
      await new Promise((r) => setTimeout(r, 10_000));
      const later = await model();
      expect(later.status.stable.version).toBe(rt(1));
      expect(later.status.rollout).toBeUndefined();
    },
  );

  it(
    'records a candidate that loses the gate and leaves the stable serving',
    { timeout: 900_000 },
    async () => {
      await applyObject(policyObject({ metric: 'rmse', mustBeatStable: true, minImprovement: 1000 }));
      await retrain();
      const run2 = await historyOf('turbofan-retrain-2');
      expect(run2.outcome).toBe('Succeeded');
      const p = await policy();
      expect(p.status.candidates[0]).toMatchObject({ version: rt(2), verdict: 'Failed' });
      expect(p.status.candidates[0].message).toMatch(/does not beat the stable's .* by at least 1000/);
      expect(p.status.conditions.find((c: Json) => c.type === 'Promotable')).toMatchObject({
        status: 'False',
        reason: 'GateFailed',
      });
      await new Promise((r) => setTimeout(r, 5_000));
      const mm = await model();
      expect(mm.status.stable.version).toBe(rt(1));
      expect(mm.status.rollout).toBeUndefined();
    },
  );

  it(
    "reports a failed Job with the trainer's reason; the stable keeps serving",
    { timeout: 600_000 },
    async () => {
      const broken = policyObject();
      broken.spec.training.template.spec.containers[0].args = ['--rounds', 'many'];
      await applyObject(broken);
      await retrain();
      const run3 = await historyOf('turbofan-retrain-3');
      expect(run3.outcome).toBe('Failed');
      expect(run3.message).toMatch(/rounds/);
      const p = await policy();
      expect(p.status.conditions.find((c: Json) => c.type === 'Training')).toMatchObject({
        status: 'False',
        reason: 'TrainingFailed',
      });
      expect(p.status.activeJob).toBeUndefined();
      expect((await model()).status.stable.version).toBe(rt(1));
      const events = await eventsOf('turbofan-retrain');
      expect(events.map((e) => e.reason)).toEqual(
        expect.arrayContaining([
          'TrainingStarted',
          'CandidatePassed',
          'Promoted',
          'GateFailed',
          'TrainingFailed',
        ]),
      );
    },
  );
  it(
    'an operator restarted mid-Job records the run once; Manual promotion names the exact spec.model',
    { timeout: 600_000 },
    async () => {
      const manual = policyObject({ metric: 'rmse', mustBeatStable: false });
      manual.spec.promotion = 'Manual';
      await applyObject(manual);
      await retrain();
      await eventually(
        'run 4 started',
        async () => (await policy())?.status?.activeJob?.name === 'turbofan-retrain-4',
        60_000,
      );
      await operator.stop();
      await ok(['wait', '--for=condition=Complete', '--timeout=300s', '-n', ns, 'job/turbofan-retrain-4']);
      operator = await startOperator(ns);

      const run4 = await historyOf('turbofan-retrain-4');
      expect(run4.outcome).toBe('Succeeded');
      const p = await policy();
      expect(p.status.history.filter((h: Json) => h.job === 'turbofan-retrain-4')).toHaveLength(1);
      expect(p.status.activeJob).toBeUndefined();
      const candidate = p.status.candidates[0];
      expect(candidate).toMatchObject({
        version: rt(4),
        job: 'turbofan-retrain-4',
        verdict: 'Passed',
      });
      const exact = `version: ${candidate.version}, uri: ${candidate.uri}, sha256: ${candidate.sha256}`;
      expect(conditionOf(p, 'Promotable')).toMatchObject({ status: 'True', reason: 'AwaitingPromotion' });
      expect(conditionOf(p, 'Promotable').message).toContain(exact);
      const passed = (await eventsOf('turbofan-retrain')).find((e) => e.message.includes(rt(4)));
      expect(passed).toMatchObject({ reason: 'CandidatePassed' });
      expect(passed!.message).toContain(exact);
      // Manual: nothing rolls out until a person moves it into spec.model.
      await new Promise((r) => setTimeout(r, 5_000));
      const mm = await model();
      expect(mm.status.stable.version).toBe(rt(1));
      expect(mm.status.rollout).toBeUndefined();
    },
  );

  it('a schedule due inside the cooldown starts no Job and says so', { timeout: 180_000 }, async () => {
    const every = policyObject({ metric: 'rmse', mustBeatStable: false });
    every.spec.promotion = 'Manual';
    every.spec.triggers = { schedule: '* * * * *' };
    await applyObject(every);
    // Due at the next minute; run 4 started less than the 1h cooldown ago.
    const training = await eventually(
      'the schedule suppressed by the cooldown',
      async () => {
        const c = conditionOf(await policy(), 'Training');
        return c?.reason === 'CoolingDown' ? c : undefined;
      },
      90_000,
    );
    expect(training.message).toMatch(/^schedule "\* \* \* \* \*" was due at .*; in cooldown until /);
    const p = await policy();
    expect(p.status.activeJob).toBeUndefined();
    expect(p.status.runs).toBe(4);
    expect(await getJson(ns, 'job/turbofan-retrain-5')).toBeUndefined();
  });

  it(
    'a policy deleted mid-Job takes its Job along; the stable keeps serving',
    { timeout: 300_000 },
    async () => {
      const manual = policyObject();
      manual.spec.promotion = 'Manual';
      await applyObject(manual);
      await retrain();
      await eventually(
        'run 5 started',
        async () => (await getJson(ns, 'job/turbofan-retrain-5')) !== undefined,
        60_000,
      );
      await ok(['delete', '-n', ns, 'retrainpolicy/turbofan-retrain', '--wait=true', '--timeout=60s']);
      await eventually(
        'the Job garbage-collected with its policy',
        async () => (await getJson(ns, 'job/turbofan-retrain-5')) === undefined,
        90_000,
      );
      await eventually(
        "the Job's pods gone",
        async () =>
          JSON.parse(
            await ok([
              'get',
              'pods',
              '-n',
              ns,
              '-l',
              'batch.kubernetes.io/job-name=turbofan-retrain-5',
              '-o',
              'json',
            ]),
          ).items.length === 0,
        90_000,
      );
      const mm = await model();
      expect(mm.status.stable.version).toBe(rt(1));
      expect(mm.status.rollout).toBeUndefined();
    },
  );
  it(
    'inputs drifting from the training baseline start a Job; the policy and the model show Drifting',
    { timeout: 400_000 },
    async () => {
      // The live feed replays each engine's first 100 cycles: young engines, whose sensors sit apart
      // from the whole lives the serving model was trained on (a fleet renewed with new engines).
      const drift = policyObject({ metric: 'rmse', mustBeatStable: false });
      drift.metadata.name = 'turbofan-drift';
      drift.spec.promotion = 'Manual';
      drift.spec.triggers = { drift: { method: 'psi', threshold: 0.2, window: '30s', minSamples: 100 } };
      await applyObject(drift);
      const started = await eventually(
        'a Job started by drift',
        async () => {
          const p = await getJson(ns, 'retrainpolicy/turbofan-drift');
          if (p?.status?.lastTriggerReason === 'Drift') return p;
          // Says what the policy judged so far (not judged, within thresholds, or no baseline).
          throw new Error(
            JSON.stringify({
              drifting: conditionOf(p ?? { status: { conditions: [] } }, 'Drifting'),
              lastDrift: p?.status?.lastDrift,
            }),
          );
        },
        300_000,
      );
      expect(started.status.runs).toBe(1);
      const drifting = conditionOf(started, 'Drifting');
      expect(drifting).toMatchObject({ status: 'True', reason: 'DriftDetected' });
      expect(drifting.message).toMatch(/^version .*: [\w.@]+ psi [0-9.]+ > [0-9.]+/);
      const started1 = (await eventsOf('turbofan-drift')).find((e) => e.reason === 'TrainingStarted');
      expect(started1?.message).toMatch(/drifted from version .*'s training baseline: psi [0-9.]+ > [0-9.]+/);

      const mm = await eventually('the model Drifting', async () => {
        const m = await model();
        const c = conditionOf(m, 'Drifting');
        return c?.status === 'True' ? c : undefined;
      });
      expect(mm).toMatchObject({ reason: 'DriftDetected' });
      expect(mm.message).toMatch(/^RetrainPolicy turbofan-drift: version .* psi [0-9.]+ > /);
      expect((await eventsOf('turbofan-rul')).map((e) => e.reason)).toContain('DriftDetected');
    },
  );
});
