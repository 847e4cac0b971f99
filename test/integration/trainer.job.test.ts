// The trainer as the RetrainPolicy's Job, on the local cluster with real parts: 20 C-MAPSS FD001
// engines published to the fleet's JetStream readings stream, their failures in its labels stream
// (half on the canonical label subject, half on the fleet's own spec.labels.subject, two engines
// censored), a MaintenanceModel serving a first model the trainer fitted on files. A batch/v1 Job
// created as the controller will create it runs `prognos-trainer job` in the pod runner (real
// kube-controller-manager Job controller); its termination message is the TrainingResult, the object
// store holds the artifact with the reported sha256, and the operator accepts it as spec.model.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { jetstream } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  MODELS_BUCKET,
  TRAINER_CONTAINER,
  TRAINING_REQUEST_ENV,
  type TrainingRequest,
  type TrainingResult,
} from '../../contracts/training.ts';
import type { PrognosOperator } from '../../operator/prognosOperator.ts';
import { sha256Hex } from '../../runtimes/inference/scoring/artifact.ts';
import { holdoutMachines } from '../../runtimes/trainer/train.ts';
import { repoRoot } from '../cluster/binaries.ts';
import {
  cycleTs,
  engineId,
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
  ok,
  startOperator,
  waitCondition,
} from './operatorHarness.ts';

const run = promisify(execFile);
const ENGINES = 20;
/** Engines whose failure is never reported: still running when the window ends (censored). */
const CENSORED = new Set([19, 20]);
const HOUR = 3_600_000;

let ns: string;
let dir: string;
let operator: PrognosOperator;
let nc: NatsConnection;
let stable: { version: string; uri: string; sha256: string };

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- manifests as kubectl returns them
type Json = any;

function fleetObject(): Json {
  const fleet = parseYaml(fleetYaml) as Json;
  fleet.metadata.namespace = ns;
  fleet.spec.nats.url = testEnv().natsUrl;
  fleet.spec.subject = `${ns}.turbofans.readings`;
  fleet.spec.labels = { subject: `${ns}.turbofans.maintenance` };
  // One hour of retention: the Job's two-hour window must be warned about.
  fleet.spec.stream = { maxAge: '1h' };
  fleet.spec.deletionPolicy = 'Delete';
  return fleet;
}

function modelObject(model: { version: string; uri: string; sha256: string }): Json {
  const mm = parseYaml(modelYaml) as Json;
  mm.metadata.namespace = ns;
  mm.spec.model = { ...model, inputs: INPUTS };
  mm.spec.serving = { replicas: 1 };
  return mm;
}

function trainingJob(name: string, request: TrainingRequest): Json {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: ns },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: 900,
      template: {
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: TRAINER_CONTAINER,
              image: 'ghcr.io/prognos/prognos:dev',
              command: ['prognos-trainer'],
              args: ['job', '--rounds', '200'],
              env: [{ name: TRAINING_REQUEST_ENV, value: JSON.stringify(request) }],
            },
          ],
        },
      },
    },
  };
}

async function jobFinished(name: string): Promise<{ type: string; pod: Json }> {
  const type = await eventually(
    `job ${name} finished`,
    async () => {
      const job = await getJson(ns, `job/${name}`);
      return (job?.status?.conditions as { type: string; status: string }[] | undefined)?.find(
        (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
      )?.type;
    },
    600_000,
  );
  const pods = JSON.parse(await ok(['get', 'pods', '-n', ns, '-l', `job-name=${name}`, '-o', 'json']));
  return { type, pod: pods.items[0] };
}

async function request(overrides: Partial<TrainingRequest> = {}): Promise<TrainingRequest> {
  return {
    namespace: ns,
    policy: 'turbofan-retrain',
    fleet: await getJson(ns, 'sf/turbofans'),
    model: await getJson(ns, 'mm/turbofan-rul'),
    stable,
    candidateVersion: 'rt-1',
    dataWindowMs: 2 * HOUR,
    metric: 'rmse',
    bucket: MODELS_BUCKET,
    ...overrides,
  };
}

describe.skipIf(!fd001Present())('trainer Job on the local cluster (C-MAPSS FD001 over JetStream)', () => {
  beforeAll(async () => {
    await installCrds();
    ns = await createNamespace('trainer-job');
    dir = await mkdtemp(join(tmpdir(), 'prognos-trainer-job-'));
    const engines = new Map([...readFd001()].filter(([engine]) => engine <= ENGINES));

    // The first model: the trainer on files, from ten engines the Job will not hold out (the same
    // seeded split), so the stable is not scored on machines it learnt from.
    const heldOut = holdoutMachines([...engines.keys()].map(engineId), 0.2, 1);
    const first = new Map([...engines].filter(([engine]) => !heldOut.has(engineId(engine))).slice(0, 10));
    const files = await writeCmapssFiles(dir, first);
    const out = join(dir, 'v1.onnx');
    const args = ['train', '--fleet', files.fleet, '--model', files.model, '--readings', files.readings];
    args.push('--events', files.events, '--out', out, '--metrics', join(dir, 'v1.json'), '--rounds', '100');
    await run(join(repoRoot, 'scripts', 'node24'), [join(repoRoot, 'runtimes/trainer/main.ts'), ...args]);
    stable = { version: 'v1', uri: `file://${out}`, sha256: sha256Hex(await readFile(out)) };

    operator = await startOperator(ns);
    await applyObject(fleetObject());
    await waitCondition(ns, 'sf/turbofans', 'StreamReady', 'True');
    await applyObject(modelObject(stable));
    await waitCondition(ns, 'mm/turbofan-rul', 'Ready', 'True', 'Serving', 180_000);

    ({ nc } = await natsClient());
    const js = jetstream(nc);
    const lines = [...engines.values()].flat().map(readingLine);
    for (let i = 0; i < lines.length; i += 500)
      await Promise.all(lines.slice(i, i + 500).map((l) => js.publish(`${ns}.turbofans.readings`, l)));
    for (const [engine, cycles] of engines) {
      if (CENSORED.has(engine)) continue;
      const ts = cycleTs(cycles.at(-1)!.cycle);
      // Odd engines report on the canonical subject (SubmitFeedback's), even ones on the fleet's own.
      if (engine % 2 === 1)
        await js.publish(
          `prognos.labels.${ns}.turbofans.${engineId(engine)}`,
          JSON.stringify({ schema: 1, machineId: engineId(engine), event: 'failure', ts, source: 'test' }),
        );
      else
        await js.publish(
          `${ns}.turbofans.maintenance`,
          JSON.stringify({ engine_id: engineId(engine), event: 'failure', ts }),
        );
    }
  });

  afterAll(async () => {
    await operator?.stop();
    if (nc) {
      const store = await new Objm(nc).open(MODELS_BUCKET).catch(() => undefined);
      for (const name of ['turbofan-rul/rt-1.onnx', 'pturbofan-rul/p-1.onnx'])
        await store?.delete(`${ns}/${name}`).catch(() => undefined);
      await nc.close();
    }
    if (ns) await deleteNamespace(ns);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('trains from the fleet streams, uploads the candidate and reports it; the operator serves it', async () => {
    const started = Date.now();
    await applyObject(trainingJob('train-rt-1', await request()));
    const { type, pod } = await jobFinished('train-rt-1');
    const terminated = pod.status.containerStatuses[0].state.terminated;
    expect(type, `trainer pod: ${JSON.stringify(terminated)}`).toBe('Complete');
    expect(pod.status.phase).toBe('Succeeded');
    const result = JSON.parse(terminated.message) as TrainingResult;
    const log = await readFile(
      join(testEnv().stateDir, 'pods', `${ns}_${pod.metadata.name}`, `${TRAINER_CONTAINER}.log`),
      'utf8',
    );
    const report = JSON.parse(log.split('\n').find((l) => l.startsWith('{"task"'))!);
    console.log(
      `trainer Job: ${Math.round((Date.now() - started) / 1000)} s from create to Complete; ` +
        `trainer ${report.timings.totalSeconds} s (features ${report.timings.featuresSeconds} s, fit ` +
        `${report.timings.fitSeconds} s, evaluate ${report.timings.evaluateSeconds} s); ` +
        `${report.rows.readings} readings, ${report.rows.train} train / ${report.rows.holdout} holdout rows; ` +
        `RMSE candidate ${result.candidateMetric.toFixed(2)}, stable ${result.stableMetric?.toFixed(2)}; ` +
        `skew ${report.skew}`,
    );
    expect(result).toMatchObject({
      candidate: { version: 'rt-1', uri: `nats-os://${MODELS_BUCKET}/${ns}/turbofan-rul/rt-1.onnx` },
      metric: 'rmse',
    });
    expect(result.candidate.sha256).toMatch(/^[a-f0-9]{64}$/);
    expect(result.candidateMetric).toBeGreaterThan(0);
    expect(result.stableMetric).toBeGreaterThan(0);
    // 4 of 20 engines held out; the two censored engines keep only rows whose RUL is known.
    expect(report.machines).toEqual({ total: ENGINES, holdout: 4 });
    expect(report.rows.readings).toBe(
      [...readFd001()].filter(([e]) => e <= ENGINES).flatMap(([, c]) => c).length,
    );
    expect(report.rows.censoredDropped).toBeGreaterThan(0);
    expect(result.rows.train + result.rows.holdout).toBe(report.rows.labelled);
    expect(report.skew).toBeLessThan(1e-4);
    expect(result.warning).toMatch(/keeps 1h \(max_age\), less than the data window of 2h/);

    const store = await new Objm(nc).open(MODELS_BUCKET);
    const stored = await store.getBlob(`${ns}/turbofan-rul/rt-1.onnx`);
    expect(stored && sha256Hex(stored)).toBe(result.candidate.sha256);

    // The candidate as the operator would promote it: verified, loaded by the runtime pod, Ready.
    await applyObject(modelObject(result.candidate));
    await waitCondition(ns, 'mm/turbofan-rul', 'ArtifactVerified', 'True', undefined, 60_000);
    await eventually(
      'rt-1 serving',
      async () => (await getJson(ns, 'mm/turbofan-rul'))?.status?.stable?.version === 'rt-1',
      180_000,
    );
    await waitCondition(ns, 'mm/turbofan-rul', 'Ready', 'True', 'Serving', 180_000);
  });

  it('trains from a partitioned fleet (machine ids in a subject token) with no stable yet', async () => {
    const fleet = fleetObject();
    fleet.metadata.name = 'pturbofans';
    fleet.spec.subject = `${ns}.pturbofans.*.readings`;
    fleet.spec.machineId = { subjectToken: 3 };
    fleet.spec.labels = { subject: `${ns}.pturbofans.*.maintenance` };
    fleet.spec.stream = { maxAge: '1h', partitions: 4 };
    await applyObject(fleet);
    await waitCondition(ns, 'sf/pturbofans', 'StreamReady', 'True');
    const js = jetstream(nc);
    const engines = [...readFd001()].filter(([engine]) => engine <= 10);
    for (const [engine, cycles] of engines) {
      await Promise.all(
        cycles.map((c) => js.publish(`${ns}.pturbofans.${engineId(engine)}.readings`, readingLine(c))),
      );
      await js.publish(
        `${ns}.pturbofans.${engineId(engine)}.maintenance`,
        JSON.stringify({ event: 'failure', ts: cycleTs(cycles.at(-1)!.cycle) }),
      );
    }
    const model = modelObject(stable);
    model.metadata.name = 'pturbofan-rul';
    model.spec.fleetRef.name = 'pturbofans';
    const first = await request({
      fleet: await getJson(ns, 'sf/pturbofans'),
      model,
      candidateVersion: 'p-1',
      dataWindowMs: HOUR,
      metric: 'mae',
    });
    delete first.stable;
    await applyObject(trainingJob('train-p-1', first));
    const { type, pod } = await jobFinished('train-p-1');
    const terminated = pod.status.containerStatuses[0].state.terminated;
    expect(type, `trainer pod: ${JSON.stringify(terminated)}`).toBe('Complete');
    const result = JSON.parse(terminated.message) as TrainingResult;
    expect(result.candidate.uri).toBe(`nats-os://${MODELS_BUCKET}/${ns}/pturbofan-rul/p-1.onnx`);
    expect(result.metric).toBe('mae');
    expect(result.candidateMetric).toBeGreaterThan(0);
    // No stable to compare with, and a window the retention covers: neither field.
    expect(result.stableMetric).toBeUndefined();
    expect(result.warning).toBeUndefined();
    const readings = engines.flatMap(([, c]) => c).length;
    const labelled = result.rows.train + result.rows.holdout;
    // Every engine failed: every reading is labelled, whichever partition it was stored in.
    expect(labelled).toBe(readings);
    const stored = await (await new Objm(nc).open(MODELS_BUCKET)).getBlob(`${ns}/pturbofan-rul/p-1.onnx`);
    expect(stored && sha256Hex(stored)).toBe(result.candidate.sha256);
  });

  it('fails with a clear termination message when the fleet has no stream', async () => {
    const ghost = fleetObject();
    ghost.metadata.name = 'ghosts';
    const model = await getJson(ns, 'mm/turbofan-rul');
    model.spec.fleetRef.name = 'ghosts';
    await applyObject(
      trainingJob('train-ghost', await request({ fleet: ghost, model, candidateVersion: 'rt-ghost' })),
    );
    const { type, pod } = await jobFinished('train-ghost');
    expect(type).toBe('Failed');
    expect(pod.status.phase).toBe('Failed');
    const terminated = pod.status.containerStatuses[0].state.terminated;
    expect(terminated.exitCode).toBe(1);
    const stream = `PROGNOS_${ns.toUpperCase().replace(/-/g, '_')}_GHOSTS`;
    expect(terminated.message).toBe(
      `prognos-trainer: SensorFleet ${ns}/ghosts: readings stream ${stream} not found on NATS: is the SensorFleet Ready?`,
    );
  });
});
