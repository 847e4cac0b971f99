import type { V1Job } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { MaintenanceModel, MaintenanceModelStatus } from '../../api/maintenanceModel.ts';
import type { RetrainPolicy, RetrainPolicyStatus } from '../../api/retrainPolicy.ts';
import { TRAINING_REQUEST_ENV, type TrainingRequest } from '../../../contracts/training.ts';
import { fleetFixture, modelFixture } from '../testdata/fixtures.ts';
import { jobFixture, policyFixture } from '../testdata/retrainPolicy.ts';
import type { DriftAssessment } from './drift/assessment.ts';
import {
  CANDIDATES_LIMIT,
  DRIFT_RECHECK_MS,
  HISTORY_LIMIT,
  JOB_CACHE_GRACE_MS,
  jobsToPrune,
  planPolicy,
  servingArtifact,
  type PolicyInputs,
  type PolicyPlan,
} from './plan.ts';
import { RETRAIN_ANNOTATION } from './triggers.ts';

const NOW = new Date('2026-12-03T10:00:00Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();
const H = 3_600_000;
const SERVING = 'a'.repeat(64);
const C1 = {
  version: 'pump-failure-rt-1',
  uri: 'nats-os://prognos-models/pump-failure-rt-1',
  sha256: 'c'.repeat(64),
};

function model(status: MaintenanceModelStatus = {}): MaintenanceModel {
  return modelFixture((m) => (m.status = { stable: { version: 'v1', sha256: SERVING }, ...status }));
}

function policy(status?: RetrainPolicyStatus, patch: (p: RetrainPolicy) => void = () => {}): RetrainPolicy {
  return policyFixture((p) => {
    if (status) p.status = status;
    patch(p);
  });
}

const annotated = (p: RetrainPolicy) => (p.metadata.annotations = { [RETRAIN_ANNOTATION]: 'please' });
const autoPromotion = (p: RetrainPolicy) => (p.spec.promotion = 'Auto');

function inputs(over: Partial<PolicyInputs> = {}): PolicyInputs {
  return {
    policy: policy(),
    model: model(),
    fleet: fleetFixture(),
    jobs: [],
    messages: new Map(),
    drift: undefined,
    image: 'trainer:1',
    now: NOW,
    ...over,
  };
}

const resultMessage = (candidateMetric: number, stableMetric = 0.8, extra: object = {}) =>
  JSON.stringify({
    candidate: C1,
    metric: 'f1',
    candidateMetric,
    stableMetric,
    rows: { train: 80, holdout: 20 },
    ...extra,
  });

const finished = (outcome: 'Succeeded' | 'Failed' | 'TimedOut', name = 'pump-retrain-1'): V1Job =>
  jobFixture(name, outcome, { finished: '2026-12-03T09:30:00Z' });

const condition = (p: PolicyPlan, type: string) => p.status.conditions?.find((c) => c.type === type);
const conditionsOf = (p: PolicyPlan) =>
  Object.fromEntries((p.status.conditions ?? []).map((c) => [c.type, `${c.status} ${c.reason}`]));

function drift(over: Partial<DriftAssessment> = {}): DriftAssessment {
  return {
    time: '2026-12-03T09:59:30Z',
    version: 'v1',
    judged: true,
    drifting: true,
    features: [
      {
        name: 'vibration',
        method: 'psi',
        score: 0.31234,
        threshold: 0.2,
        samples: 1200,
        drifting: true,
        since: '2026-12-03T09:40:00Z',
      },
      { name: 'temperature', method: 'psi', score: 0.05, threshold: 0.2, samples: 1200, drifting: false },
    ],
    ...over,
  };
}

describe('planPolicy: starting a run', () => {
  it('creates the Job when a trigger fires and records it as the active run', () => {
    const p = planPolicy(inputs({ policy: policy(undefined, annotated) }));
    expect(p.create?.metadata?.name).toBe('pump-retrain-1');
    expect(p.create?.metadata?.annotations?.['prognos.dev/trigger']).toBe('Manual');
    const request = JSON.parse(
      p.create!.spec!.template.spec!.containers[0]!.env!.find((e) => e.name === TRAINING_REQUEST_ENV)!.value!,
    ) as TrainingRequest;
    expect(request.stable).toEqual({ version: 'v1', uri: 'file:///models/pump-v1.onnx', sha256: SERVING });
    expect(request.candidateVersion).toBe('pump-failure-rt-1-policy');
    expect(p.status).toMatchObject({
      runs: 1,
      lastTriggerTime: '2026-12-03T10:00:00Z',
      lastTriggerReason: 'Manual',
      activeJob: { name: 'pump-retrain-1', startTime: '2026-12-03T10:00:00Z', trigger: 'Manual' },
    });
    expect(p.events).toEqual([
      {
        type: 'Normal',
        reason: 'TrainingStarted',
        message:
          'Job pump-retrain-1 trains a candidate for pump-failure: the prognos.dev/retrain annotation asked for a run',
      },
    ]);
    expect(p.clearRetrainAnnotation).toBe(true);
    expect(conditionsOf(p)).toEqual({
      Ready: 'True Watching',
      Training: 'True JobRunning',
      Promotable: 'False NoCandidate',
    });
    expect(condition(p, 'Training')).toMatchObject({
      message: 'Job pump-retrain-1 (Manual) is training',
      observedGeneration: 3,
      lastTransitionTime: '2026-12-03T10:00:00Z',
    });
    expect(p.prune).toEqual([]);
    expect(p.needMessages).toEqual([]);
  });

  it('does nothing without a trigger, and says it is idle', () => {
    const p = planPolicy(inputs());
    expect(p.create).toBeUndefined();
    expect(p.events).toEqual([]);
    expect(p.clearRetrainAnnotation).toBe(false);
    expect(p.status).not.toHaveProperty('runs');
    expect(p.status).not.toHaveProperty('activeJob');
    expect(condition(p, 'Training')).toMatchObject({
      status: 'False',
      reason: 'Idle',
      message: 'no training Job runs',
    });
    // Drift has no watch: looked at again.
    expect(p.requeueAfterMs).toBe(DRIFT_RECHECK_MS);
  });

  it('starts nothing while a Job runs; the annotation waits for the next run', () => {
    const running = jobFixture('pump-retrain-2', 'Running', { trigger: 'Schedule' });
    const p = planPolicy(inputs({ policy: policy({ runs: 2 }, annotated), jobs: [running], drift: drift() }));
    expect(p.create).toBeUndefined();
    expect(p.clearRetrainAnnotation).toBe(false);
    expect(p.status.activeJob).toEqual({
      name: 'pump-retrain-2',
      startTime: '2026-12-03T09:00:00Z',
      trigger: 'Schedule',
    });
    expect(condition(p, 'Training')).toMatchObject({ status: 'True', reason: 'JobRunning' });
  });

  it('names the active run the same once its Job shows up', () => {
    const started = planPolicy(inputs({ policy: policy(undefined, annotated) }));
    const job = jobFixture('pump-retrain-1', 'Running', {
      created: '2026-12-03T10:00:00Z',
      trigger: 'Manual',
    });
    const next = planPolicy(
      inputs({ policy: policy(started.status), jobs: [job], now: new Date(NOW.getTime() + 5_000) }),
    );
    expect(next.create).toBeUndefined();
    expect(next.events).toEqual([]);
    expect(next.status).toEqual(started.status);
  });

  it('fires on drift: lastDrift and the Drifting condition', () => {
    const p = planPolicy(inputs({ drift: drift() }));
    expect(p.create?.metadata?.name).toBe('pump-retrain-1');
    expect(p.status.lastTriggerReason).toBe('Drift');
    expect(p.status.lastDrift).toEqual({
      score: 0.31234,
      feature: 'vibration',
      method: 'psi',
      time: '2026-12-03T09:59:30Z',
    });
    expect(condition(p, 'Drifting')).toMatchObject({
      status: 'True',
      reason: 'DriftDetected',
      message: 'version v1: vibration psi 0.312 > 0.2 (since 2026-12-03T09:40:00Z)',
    });
    expect(p.clearRetrainAnnotation).toBe(false);
  });

  it('does not fire on drift that was not judged', () => {
    const p = planPolicy(inputs({ drift: drift({ judged: false }) }));
    expect(p.create).toBeUndefined();
    expect(p.status).not.toHaveProperty('lastDrift');
    expect(condition(p, 'Drifting')).toMatchObject({
      status: 'False',
      reason: 'DriftNotJudged',
      message: 'fewer than 1000 readings in the window',
    });
    const why = 'the serving version has no training baseline (prognos.baseline) to compare with';
    const noBaseline = planPolicy(inputs({ drift: drift({ judged: false, reason: why }) }));
    expect(condition(noBaseline, 'Drifting')).toMatchObject({ reason: 'DriftNotJudged', message: why });
  });

  it('reports inputs within their thresholds', () => {
    const p = planPolicy(inputs({ drift: drift({ drifting: false }) }));
    expect(p.create).toBeUndefined();
    expect(condition(p, 'Drifting')).toMatchObject({
      status: 'False',
      reason: 'NoDrift',
      message: 'version v1: every watched input within its threshold',
    });
  });

  it('suppresses drift in the cooldown: Training CoolingDown, looked at again', () => {
    const last = ago(2 * H);
    const p = planPolicy(
      inputs({
        policy: policy({ lastTriggerTime: last, lastTriggerReason: 'Drift', runs: 1 }),
        drift: drift(),
      }),
    );
    expect(p.create).toBeUndefined();
    expect(p.status.lastTriggerTime).toBe(last);
    expect(condition(p, 'Training')).toMatchObject({
      status: 'False',
      reason: 'CoolingDown',
      message:
        "vibration drifted from version v1's training baseline: psi 0.312 > 0.2 over 1200 readings; in cooldown until 2026-12-03T14:00:00.000Z",
    });
    expect(p.requeueAfterMs).toBe(DRIFT_RECHECK_MS);
  });

  it('looks again when the cooldown ends, if that is sooner than the drift recheck', () => {
    const p = planPolicy(
      inputs({ policy: policy({ lastTriggerTime: ago(6 * H - 5_000), runs: 1 }), drift: drift() }),
    );
    expect(p.create).toBeUndefined();
    expect(p.requeueAfterMs).toBe(5_000);
  });

  it('fires a schedule due since the policy was created, and a new policy waits for its first time', () => {
    const scheduled = (created: string) =>
      policy(undefined, (p) => {
        delete p.spec.triggers.drift;
        p.spec.triggers.schedule = '0 3 * * *';
        p.metadata.creationTimestamp = created as unknown as Date;
      });
    const due = planPolicy(inputs({ policy: scheduled('2026-12-02T12:00:00Z') }));
    expect(due.create?.metadata?.annotations?.['prognos.dev/trigger']).toBe('Schedule');
    expect(due.events[0]!.message).toBe(
      'Job pump-retrain-1 trains a candidate for pump-failure: schedule "0 3 * * *" was due at 2026-12-03T03:00:00.000Z',
    );
    const fresh = planPolicy(inputs({ policy: scheduled('2026-12-03T09:00:00Z') }));
    expect(fresh.create).toBeUndefined();
    expect(fresh.requeueAfterMs).toBe(17 * H);
  });

  it('reports a schedule cron-parser refuses as not Ready, and still fires the other triggers', () => {
    const invalid = (annotate: boolean) =>
      policy(undefined, (p) => {
        p.spec.triggers.schedule = '61 * * * *';
        if (annotate) p.metadata.annotations = { [RETRAIN_ANNOTATION]: 'now' };
      });
    const idle = planPolicy(inputs({ policy: invalid(false) }));
    expect(idle.create).toBeUndefined();
    expect(condition(idle, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'InvalidSchedule',
    });
    expect(condition(idle, 'Ready')!.message).toMatch(
      /^triggers.schedule "61 \* \* \* \*" is not a valid cron schedule \(.+\); it never fires, the other triggers still do$/,
    );
    const manual = planPolicy(inputs({ policy: invalid(true) }));
    expect(manual.create?.metadata?.annotations?.['prognos.dev/trigger']).toBe('Manual');
  });

  it('numbers the run after the highest of status.runs and the Jobs that exist', () => {
    const recorded = {
      time: ago(H),
      trigger: 'Drift' as const,
      job: 'pump-retrain-5',
      outcome: 'Failed' as const,
    };
    const fromJobs = planPolicy(
      inputs({
        policy: policy({ runs: 2, history: [recorded] }, annotated),
        jobs: [finished('Failed', 'pump-retrain-5')],
      }),
    );
    expect(fromJobs.create?.metadata?.name).toBe('pump-retrain-6');
    expect(fromJobs.status.runs).toBe(6);
    const fromStatus = planPolicy(inputs({ policy: policy({ runs: 7 }, annotated) }));
    expect(fromStatus.create?.metadata?.name).toBe('pump-retrain-8');
  });

  it.each([
    [
      'the model',
      undefined,
      fleetFixture(),
      'ModelNotFound',
      'MaintenanceModel plant-a/pump-failure does not exist',
    ],
    [
      "the model's fleet",
      model(),
      undefined,
      'FleetNotFound',
      'SensorFleet plant-a/pumps of the model does not exist',
    ],
  ])('starts nothing without %s', (_name, m, fleet, reason, message) => {
    const p = planPolicy(inputs({ policy: policy(undefined, annotated), model: m, fleet, drift: drift() }));
    expect(p.create).toBeUndefined();
    expect(p.clearRetrainAnnotation).toBe(false);
    expect(p.requeueAfterMs).toBeUndefined();
    expect(condition(p, 'Ready')).toMatchObject({ status: 'False', reason, message });
    expect(conditionsOf(p)).toEqual({
      Ready: `False ${reason}`,
      Training: 'False Idle',
      Promotable: 'False NoCandidate',
    });
  });
});

describe('planPolicy: recording finished Jobs', () => {
  const active = { name: 'pump-retrain-1', startTime: ago(H), trigger: 'Drift' as const };
  const runningStatus = (): RetrainPolicyStatus => ({
    runs: 1,
    lastTriggerTime: ago(H),
    lastTriggerReason: 'Drift',
    activeJob: active,
  });

  it("asks for a finished Job's termination message before anything else", () => {
    const p = planPolicy(
      inputs({ policy: policy(runningStatus(), annotated), jobs: [finished('Succeeded')] }),
    );
    expect(p.needMessages).toEqual(['pump-retrain-1']);
    expect(p.create).toBeUndefined();
    expect(p.events).toEqual([]);
    expect(p.prune).toEqual([]);
  });

  it('records a candidate that passed the gate, once', () => {
    const job = jobFixture('pump-retrain-1', 'Succeeded', { finished: '2026-12-03T09:30:00Z' });
    const first = planPolicy(
      inputs({
        policy: policy(runningStatus()),
        jobs: [job],
        messages: new Map([['pump-retrain-1', resultMessage(0.85)]]),
      }),
    );
    const verdict = "f1 0.85 beats the stable's 0.8 (0.05 better)";
    expect(first.status.history).toEqual([
      {
        time: '2026-12-03T09:30:00Z',
        trigger: 'Drift',
        job: 'pump-retrain-1',
        outcome: 'Succeeded',
        candidate: 'pump-failure-rt-1',
        message: verdict,
      },
    ]);
    expect(first.status.candidates).toEqual([
      {
        ...C1,
        job: 'pump-retrain-1',
        trigger: 'Drift',
        createdAt: '2026-12-03T09:30:00Z',
        metric: 0.85,
        stableMetric: 0.8,
        verdict: 'Passed',
        message: verdict,
      },
    ]);
    expect(first.status).not.toHaveProperty('activeJob');
    expect(first.events).toEqual([
      {
        type: 'Normal',
        reason: 'CandidatePassed',
        message: `candidate pump-failure-rt-1 from Job pump-retrain-1: ${verdict}; set spec.model of MaintenanceModel pump-failure to version: pump-failure-rt-1, uri: nats-os://prognos-models/pump-failure-rt-1, sha256: ${'c'.repeat(64)} to promote it`,
      },
    ]);
    expect(conditionsOf(first)).toMatchObject({
      Training: 'False Idle',
      Promotable: 'True AwaitingPromotion',
    });
    expect(condition(first, 'Promotable')!.message).toBe(
      `candidate pump-failure-rt-1 passed: set spec.model of MaintenanceModel pump-failure to version: pump-failure-rt-1, uri: nats-os://prognos-models/pump-failure-rt-1, sha256: ${'c'.repeat(64)} to promote it`,
    );

    // The next reconcile sees the same Job: nothing is read or recorded again.
    const again = planPolicy(inputs({ policy: policy(first.status), jobs: [job] }));
    expect(again.needMessages).toEqual([]);
    expect(again.events).toEqual([]);
    expect(again.status.history).toEqual(first.status.history);
    expect(again.status.candidates).toEqual(first.status.candidates);
    expect(again.status.conditions).toEqual(first.status.conditions);
  });

  it('appends the trainer warning to the candidate and takes the finish time from the condition', () => {
    const job = finished('Succeeded');
    delete job.status!.completionTime;
    const p = planPolicy(
      inputs({
        policy: policy(runningStatus()),
        jobs: [job],
        messages: new Map([['pump-retrain-1', resultMessage(0.85, 0.8, { warning: 'the stream holds 2d' })]]),
      }),
    );
    expect(p.status.candidates![0]).toMatchObject({
      createdAt: '2026-12-03T09:30:00Z',
      message: "f1 0.85 beats the stable's 0.8 (0.05 better); the stream holds 2d",
    });
  });

  it('records a candidate that failed the gate', () => {
    const p = planPolicy(
      inputs({
        policy: policy(runningStatus()),
        jobs: [finished('Succeeded')],
        messages: new Map([['pump-retrain-1', resultMessage(0.8)]]),
      }),
    );
    const verdict = "f1 0.8 does not beat the stable's 0.8 (0 better)";
    expect(p.status.candidates).toMatchObject([
      { version: 'pump-failure-rt-1', verdict: 'Failed', message: verdict },
    ]);
    expect(p.status.history).toMatchObject([{ outcome: 'Succeeded', candidate: 'pump-failure-rt-1' }]);
    expect(p.events).toEqual([
      {
        type: 'Warning',
        reason: 'GateFailed',
        message: `candidate pump-failure-rt-1 from Job pump-retrain-1: ${verdict}`,
      },
    ]);
    expect(condition(p, 'Promotable')).toMatchObject({
      status: 'False',
      reason: 'GateFailed',
      message: `candidate pump-failure-rt-1: ${verdict}`,
    });
  });

  it.each([
    [
      'a succeeded trainer without a TrainingResult',
      'Succeeded',
      'Traceback (most recent call last)',
      'Failed',
      'the termination message is not a TrainingResult: Traceback (most recent call last)',
      'TrainingFailed',
      'Job pump-retrain-1 failed: the termination message is not a TrainingResult: Traceback (most recent call last)',
    ],
    [
      'a failed trainer',
      'Failed',
      'stream PROGNOS_PLANT_A_PUMPS holds no readings',
      'Failed',
      'stream PROGNOS_PLANT_A_PUMPS holds no readings',
      'TrainingFailed',
      'Job pump-retrain-1 failed: stream PROGNOS_PLANT_A_PUMPS holds no readings',
    ],
    [
      'a failed trainer that said nothing',
      'Failed',
      undefined,
      'Failed',
      'the trainer failed without a message',
      'TrainingFailed',
      'Job pump-retrain-1 failed: the trainer failed without a message',
    ],
    [
      'a Job past its deadline',
      'TimedOut',
      'killed',
      'TimedOut',
      'ran past training.timeout 2h',
      'TrainingTimedOut',
      'Job pump-retrain-1 timed out: ran past training.timeout 2h',
    ],
  ] as const)('records %s as a failed run', (_name, outcome, message, recorded, why, event, training) => {
    const p = planPolicy(
      inputs({
        policy: policy(runningStatus()),
        jobs: [finished(outcome)],
        messages: new Map([['pump-retrain-1', message]]),
      }),
    );
    expect(p.status.history).toEqual([
      {
        time: '2026-12-03T09:30:00Z',
        trigger: 'Drift',
        job: 'pump-retrain-1',
        outcome: recorded,
        message: why,
      },
    ]);
    expect(p.status).not.toHaveProperty('candidates');
    expect(p.status).not.toHaveProperty('activeJob');
    expect(p.events).toEqual([{ type: 'Warning', reason: event, message: `Job pump-retrain-1: ${why}` }]);
    expect(condition(p, 'Training')).toMatchObject({
      status: 'False',
      reason: 'TrainingFailed',
      message: training,
    });
    expect(condition(p, 'Promotable')).toMatchObject({ status: 'False', reason: 'NoCandidate' });
  });

  it('cuts a long failure message to the status limit', () => {
    const p = planPolicy(
      inputs({
        policy: policy(runningStatus()),
        jobs: [finished('Failed')],
        messages: new Map([['pump-retrain-1', 'x'.repeat(5000)]]),
      }),
    );
    expect(p.status.history![0]!.message).toHaveLength(1024);
  });
});

describe('planPolicy: following candidates', () => {
  const passed = {
    ...C1,
    job: 'pump-retrain-1',
    trigger: 'Drift',
    createdAt: '2026-12-03T09:30:00Z',
    metric: 0.85,
    stableMetric: 0.8,
    verdict: 'Passed' as const,
    message: "f1 0.85 beats the stable's 0.8 (0.05 better)",
  };

  it('marks a passed candidate Promoted once it serves', () => {
    const serving = model({
      stable: { version: C1.version, sha256: C1.sha256 },
      source: 'retrainpolicy/pump-retrain (candidate pump-failure-rt-1)',
    });
    const p = planPolicy(inputs({ policy: policy({ runs: 1, candidates: [passed] }), model: serving }));
    expect(p.status.candidates).toEqual([{ ...passed, verdict: 'Promoted' }]);
    expect(p.events).toEqual([
      {
        type: 'Normal',
        reason: 'Promoted',
        message:
          'candidate pump-failure-rt-1 serves MaintenanceModel pump-failure (retrainpolicy/pump-retrain (candidate pump-failure-rt-1))',
      },
    ]);
    expect(condition(p, 'Promotable')).toMatchObject({
      status: 'False',
      reason: 'Promoted',
      message: 'candidate pump-failure-rt-1 serves',
    });
    // Once: a Promoted candidate is not announced again.
    expect(planPolicy(inputs({ policy: policy(p.status), model: serving })).events).toEqual([]);
  });

  it('marks a passed candidate Rejected once its rollout was rolled back', () => {
    const rolledBack = model({
      rolledBack: {
        version: C1.version,
        sha256: C1.sha256,
        time: '2026-12-03T09:50:00Z',
        reason: 'AnalysisFailed',
        message: 'errorRate 0.2 > maxErrorRate 0.01',
      },
    });
    const p = planPolicy(
      inputs({ policy: policy({ runs: 1, candidates: [passed] }, autoPromotion), model: rolledBack }),
    );
    const why = 'its rollout was rolled back: errorRate 0.2 > maxErrorRate 0.01';
    expect(p.status.candidates).toEqual([{ ...passed, verdict: 'Rejected', message: why }]);
    expect(p.events).toEqual([
      { type: 'Warning', reason: 'Rejected', message: `candidate pump-failure-rt-1 ${why}` },
    ]);
    expect(condition(p, 'Promotable')).toMatchObject({
      status: 'False',
      reason: 'Rejected',
      message: `candidate pump-failure-rt-1: ${why}`,
    });
  });

  it('reports an Auto candidate that passed as rolling out', () => {
    const p = planPolicy(inputs({ policy: policy({ runs: 1, candidates: [passed] }, autoPromotion) }));
    expect(p.status.candidates).toEqual([passed]);
    expect(p.events).toEqual([]);
    expect(condition(p, 'Promotable')).toMatchObject({
      status: 'True',
      reason: 'RollingOut',
      message: "candidate pump-failure-rt-1 rolls out through MaintenanceModel pump-failure's rollout",
    });
  });

  it('leaves candidates as they are while the model is missing', () => {
    const p = planPolicy(inputs({ policy: policy({ runs: 1, candidates: [passed] }), model: undefined }));
    expect(p.status.candidates).toEqual([passed]);
    expect(condition(p, 'Promotable')).toMatchObject({ status: 'True', reason: 'AwaitingPromotion' });
  });
});

describe('planPolicy: a Job missing from the cache', () => {
  const status = (startedAgo: number): RetrainPolicyStatus => ({
    runs: 3,
    lastTriggerTime: ago(startedAgo),
    lastTriggerReason: 'Manual',
    activeJob: { name: 'pump-retrain-3', startTime: ago(startedAgo), trigger: 'Manual' },
  });

  it('waits for a Job just created to show up', () => {
    const p = planPolicy(inputs({ policy: policy(status(10_000), annotated) }));
    expect(p.status.activeJob).toEqual(status(10_000).activeJob);
    expect(p.create).toBeUndefined();
    expect(p.events).toEqual([]);
    expect(p.requeueAfterMs).toBe(1_000);
    expect(condition(p, 'Training')).toMatchObject({ status: 'True', reason: 'JobRunning' });
  });

  it('waits until just before the grace ends', () => {
    const p = planPolicy(inputs({ policy: policy(status(JOB_CACHE_GRACE_MS - 1)) }));
    expect(p.status.activeJob?.name).toBe('pump-retrain-3');
  });

  it('records a Job missing past the grace as failed, and a run may start again', () => {
    const p = planPolicy(inputs({ policy: policy(status(JOB_CACHE_GRACE_MS), annotated) }));
    expect(p.status.history).toEqual([
      {
        time: '2026-12-03T10:00:00Z',
        trigger: 'Manual',
        job: 'pump-retrain-3',
        outcome: 'Failed',
        message: 'the Job was deleted before it finished',
      },
    ]);
    expect(p.events[0]).toEqual({
      type: 'Warning',
      reason: 'TrainingFailed',
      message: 'Job pump-retrain-3 was deleted before it finished',
    });
    // A cooldown does not hold back the annotation: the next run starts.
    expect(p.create?.metadata?.name).toBe('pump-retrain-4');
    expect(p.events.map((e) => e.reason)).toEqual(['TrainingFailed', 'TrainingStarted']);
  });

  it('says the deleted run failed when nothing starts after it', () => {
    const p = planPolicy(inputs({ policy: policy(status(2 * JOB_CACHE_GRACE_MS)) }));
    expect(p.status).not.toHaveProperty('activeJob');
    expect(p.create).toBeUndefined();
    expect(condition(p, 'Training')).toMatchObject({
      status: 'False',
      reason: 'TrainingFailed',
      message: 'Job pump-retrain-3 failed: the Job was deleted before it finished',
    });
    // Recorded once: the next reconcile names no active Job.
    expect(planPolicy(inputs({ policy: policy(p.status) })).status.history).toHaveLength(1);
  });

  it('does not count a recorded Job that was pruned as missing', () => {
    const recorded = {
      time: ago(H),
      trigger: 'Manual' as const,
      job: 'pump-retrain-3',
      outcome: 'Succeeded' as const,
    };
    const p = planPolicy(
      inputs({ policy: policy({ ...status(2 * JOB_CACHE_GRACE_MS), history: [recorded] }) }),
    );
    expect(p.status.history).toEqual([recorded]);
    expect(p.events).toEqual([]);
  });
});

describe('planPolicy: bounds and pruning', () => {
  it('keeps the newest candidates and history entries', () => {
    const candidates = Array.from({ length: CANDIDATES_LIMIT }, (_, n) => ({
      version: `old-${n}`,
      uri: `nats-os://prognos-models/old-${n}`,
      sha256: String(n % 10).repeat(64),
      createdAt: ago(2 * H),
      verdict: 'Failed' as const,
    }));
    const history = Array.from({ length: HISTORY_LIMIT }, (_, n) => ({
      time: ago(2 * H),
      trigger: 'Drift' as const,
      job: `gone-${n}`,
      outcome: 'Failed' as const,
    }));
    const p = planPolicy(
      inputs({
        policy: policy({ runs: 1, candidates, history }),
        jobs: [finished('Succeeded')],
        messages: new Map([['pump-retrain-1', resultMessage(0.85)]]),
      }),
    );
    expect(p.status.candidates).toHaveLength(CANDIDATES_LIMIT);
    expect(p.status.candidates![0]!.version).toBe('pump-failure-rt-1');
    expect(p.status.candidates![CANDIDATES_LIMIT - 1]!.version).toBe(`old-${CANDIDATES_LIMIT - 2}`);
    expect(p.status.history).toHaveLength(HISTORY_LIMIT);
    expect(p.status.history![0]!.job).toBe('pump-retrain-1');
    expect(p.status.history![HISTORY_LIMIT - 1]!.job).toBe(`gone-${HISTORY_LIMIT - 2}`);
  });

  it('prunes finished Jobs beyond the newest 3 succeeded and 1 failed', () => {
    const outcomes = [
      'Succeeded',
      'Succeeded',
      'Failed',
      'Succeeded',
      'TimedOut',
      'Succeeded',
      'Failed',
      'Succeeded',
      'Running',
    ] as const;
    const jobs = outcomes.map((o, n) =>
      jobFixture(`pump-retrain-${n + 1}`, o, { created: `2026-12-03T0${n}:00:00Z` }),
    );
    expect(jobsToPrune(jobs)).toEqual([
      'pump-retrain-2',
      'pump-retrain-1',
      'pump-retrain-5',
      'pump-retrain-3',
    ]);
    // In any order.
    expect(jobsToPrune([...jobs].reverse())).toEqual(jobsToPrune(jobs));

    const history = jobs
      .filter((j) => j.status?.conditions)
      .map((j) => ({
        time: ago(H),
        trigger: 'Drift' as const,
        job: j.metadata!.name!,
        outcome: 'Succeeded' as const,
      }));
    const p = planPolicy(inputs({ policy: policy({ runs: 9, history }), jobs }));
    expect(p.prune).toEqual(jobsToPrune(jobs));
    expect(p.status.activeJob?.name).toBe('pump-retrain-9');
  });

  it('prunes nothing within the limits', () => {
    expect(
      jobsToPrune([
        finished('Succeeded', 'a'),
        finished('Succeeded', 'b'),
        finished('Failed', 'c'),
        jobFixture('d', 'Running'),
      ]),
    ).toEqual([]);
  });
});

describe('servingArtifact', () => {
  const spec = { version: 'v1', uri: 'file:///models/pump-v1.onnx', sha256: SERVING };
  const auto = { policy: 'pump-retrain', ...C1, over: SERVING, time: '2026-12-03T09:00:00Z' };
  const rollout = {
    strategy: 'Canary' as const,
    source: 'Spec' as const,
    target: { version: 'v2', uri: 'file:///models/pump-v2.onnx', sha256: 'b'.repeat(64) },
    stable: { version: 'v0', uri: 'file:///models/pump-v0.onnx', sha256: '0'.repeat(64), inputs: ['x'] },
    startedAt: '2026-12-03T09:00:00Z',
    step: 0,
    stepStartedAt: '2026-12-03T09:00:00Z',
    weight: 10,
  };

  it.each([
    ['nothing serves', {}, undefined],
    ['spec.model serves', { stable: { version: 'v1', sha256: SERVING } }, spec],
    [
      'an automatic promotion serves',
      { stable: { version: C1.version, sha256: C1.sha256 }, autoPromoted: auto },
      C1,
    ],
    [
      "a rollout's stable serves",
      { stable: { version: 'v0', sha256: '0'.repeat(64) }, rollout },
      { version: 'v0', uri: 'file:///models/pump-v0.onnx', sha256: '0'.repeat(64) },
    ],
    [
      'an artifact no longer named anywhere',
      { stable: { version: 'v9', sha256: '9'.repeat(64) } },
      undefined,
    ],
  ])('%s', (_name, status, expected) => {
    expect(servingArtifact(modelFixture((m) => (m.status = status)))).toEqual(expected);
  });
});
