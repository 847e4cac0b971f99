/**
 * One reconcile of a RetrainPolicy, decided from what was gathered: finished Jobs recorded once (a
 * candidate gated, or the failure), candidates followed through the model's rollout, a new Job when
 * a trigger fires, old Jobs past the history limits, the conditions and the Events. Pure; the
 * reconciler does the I/O.
 */
import type { V1Job } from '@kubernetes/client-node';
import type { MaintenanceModel } from '../../api/maintenanceModel.ts';
import type { RetrainPolicy, RetrainPolicyStatus, TriggerReason } from '../../api/retrainPolicy.ts';
import { TRIGGER_REASONS } from '../../api/retrainPolicy.ts';
import type { SensorFleet } from '../../api/sensorFleet.ts';
import { rfc3339, setCondition, type ConditionInput } from '../../framework/conditions.ts';
import type { ArtifactReference } from '../../../contracts/training.ts';
import type { DriftAssessment } from './drift/assessment.ts';
import { gate } from './gate.ts';
import { desiredJob, jobName, TRIGGER_ANNOTATION } from './job.ts';
import { jobOutcome, parseTrainingResult, type JobOutcome } from './jobOutcome.ts';
import { decideTrigger, scheduleError } from './triggers.ts';

export const CANDIDATES_LIMIT = 10;
export const HISTORY_LIMIT = 20;
/** Finished Jobs kept for their logs, as a CronJob's defaults: 3 succeeded, 1 failed. */
export const SUCCEEDED_JOBS_KEPT = 3;
export const FAILED_JOBS_KEPT = 1;
/**
 * A Job this process created may be missing from the cache for a moment; one missing longer than
 * this was deleted before it finished.
 */
export const JOB_CACHE_GRACE_MS = 60_000;
/** Drift has no watch to wake the policy: it is looked at this often. */
export const DRIFT_RECHECK_MS = 30_000;

export const POLICY_REASONS = {
  modelNotFound: 'ModelNotFound',
  fleetNotFound: 'FleetNotFound',
  watching: 'Watching',
  jobRunning: 'JobRunning',
  idle: 'Idle',
  coolingDown: 'CoolingDown',
  trainingFailed: 'TrainingFailed',
  awaitingPromotion: 'AwaitingPromotion',
  rollingOut: 'RollingOut',
  promoted: 'Promoted',
  rejected: 'Rejected',
  gateFailed: 'GateFailed',
  noCandidate: 'NoCandidate',
  driftDetected: 'DriftDetected',
  noDrift: 'NoDrift',
  driftNotJudged: 'DriftNotJudged',
  invalidSchedule: 'InvalidSchedule',
} as const;

export interface PolicyInputs {
  policy: RetrainPolicy;
  model: MaintenanceModel | undefined;
  fleet: SensorFleet | undefined;
  /** Jobs the policy owns. */
  jobs: V1Job[];
  /** The trainer's termination message of each finished Job not recorded yet, by Job name. */
  messages: ReadonlyMap<string, string | undefined>;
  drift: DriftAssessment | undefined;
  image: string;
  now: Date;
}

export interface PolicyEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface PolicyPlan {
  status: RetrainPolicyStatus;
  create: V1Job | undefined;
  /** Finished Jobs past the history limits. */
  prune: string[];
  events: PolicyEvent[];
  /** The retrain annotation was acted on: the reconciler removes it. */
  clearRetrainAnnotation: boolean;
  requeueAfterMs: number | undefined;
  /** Finished Jobs whose termination message the reconciler must read first (their pods). */
  needMessages: string[];
}

/** What serves the model now, for the trainer to score beside its candidate. */
export function servingArtifact(model: MaintenanceModel): ArtifactReference | undefined {
  const serving = model.status?.stable?.sha256;
  if (!serving) return undefined;
  const known = [model.status?.autoPromoted, model.spec.model, model.status?.rollout?.stable];
  const found = known.find((a) => a?.sha256 === serving);
  return found && { version: found.version, uri: found.uri, sha256: found.sha256 };
}

const runOf = (name: string, policy: string): number => {
  const n = Number(name.slice(policy.length + 1));
  return Number.isInteger(n) ? n : 0;
};

// Times as the API server writes them (whole seconds), like every other time in the status.
const finishedAt = (job: V1Job, now: Date): string =>
  rfc3339(
    new Date(
      job.status?.completionTime ??
        job.status?.conditions?.find(
          (c) => c.status === 'True' && (c.type === 'Complete' || c.type === 'Failed'),
        )?.lastTransitionTime ??
        now,
    ),
  );

function triggerOf(job: V1Job): TriggerReason {
  const t = job.metadata?.annotations?.[TRIGGER_ANNOTATION];
  return (TRIGGER_REASONS as readonly string[]).includes(t ?? '') ? (t as TriggerReason) : 'Manual';
}

export function planPolicy(i: PolicyInputs): PolicyPlan {
  const { policy, model, fleet, now } = i;
  const name = policy.metadata.name!;
  const gen = policy.metadata.generation;
  const previous = policy.status ?? {};
  const status: RetrainPolicyStatus = {
    ...(previous.lastDrift ? { lastDrift: previous.lastDrift } : {}),
    ...(previous.lastTriggerTime ? { lastTriggerTime: previous.lastTriggerTime } : {}),
    ...(previous.lastTriggerReason ? { lastTriggerReason: previous.lastTriggerReason } : {}),
    ...(previous.runs !== undefined ? { runs: previous.runs } : {}),
    candidates: [...(previous.candidates ?? [])],
    history: [...(previous.history ?? [])],
    conditions: previous.conditions ?? [],
  };
  const plan: PolicyPlan = {
    status,
    create: undefined,
    prune: [],
    events: [],
    clearRetrainAnnotation: false,
    requeueAfterMs: undefined,
    needMessages: [],
  };
  const conditions: ConditionInput[] = [];
  const condition = (type: string, ok: boolean, reason: string, message: string) =>
    conditions.push({ type, status: ok ? 'True' : 'False', reason, message, observedGeneration: gen });
  const requeue = (ms: number | undefined) => {
    if (ms !== undefined) plan.requeueAfterMs = Math.min(plan.requeueAfterMs ?? ms, ms);
  };

  // Finished Jobs, recorded once each (history names the Job).
  const recorded = new Set(status.history!.map((h) => h.job));
  const running: V1Job[] = [];
  for (const job of i.jobs) {
    const outcome = jobOutcome(job);
    const jobName = job.metadata!.name!;
    if (outcome === 'Running') {
      running.push(job);
      continue;
    }
    if (recorded.has(jobName)) continue;
    if (!i.messages.has(jobName)) {
      plan.needMessages.push(jobName);
      continue;
    }
    recordRun(plan, i, job, outcome, i.messages.get(jobName));
  }
  if (plan.needMessages.length > 0) return plan;

  // Candidates followed through the model: promoted once it serves, rejected once rolled back.
  if (model)
    status.candidates = status.candidates!.map((c) => {
      if (c.verdict !== 'Passed') return c;
      if (model.status?.stable?.sha256 === c.sha256) {
        plan.events.push({
          type: 'Normal',
          reason: POLICY_REASONS.promoted,
          message: `candidate ${c.version} serves MaintenanceModel ${model.metadata.name} (${model.status?.source ?? 'spec'})`,
        });
        return { ...c, verdict: 'Promoted' as const };
      }
      if (model.status?.rolledBack?.sha256 === c.sha256) {
        const why = `its rollout was rolled back: ${model.status.rolledBack.message}`.slice(0, 1024);
        plan.events.push({
          type: 'Warning',
          reason: POLICY_REASONS.rejected,
          message: `candidate ${c.version} ${why}`,
        });
        return { ...c, verdict: 'Rejected' as const, message: why };
      }
      return c;
    });

  // Runs: the highest of what status counted and the Jobs that exist (a Job created before a
  // status write that failed still counts, so its name is never reused).
  const runs = Math.max(status.runs ?? 0, ...i.jobs.map((j) => runOf(j.metadata!.name!, name)));
  if (runs > 0) status.runs = runs;
  const active = running.sort((a, b) => runOf(b.metadata!.name!, name) - runOf(a.metadata!.name!, name))[0];
  if (active)
    status.activeJob = {
      name: active.metadata!.name!,
      startTime: rfc3339(new Date(active.status?.startTime ?? active.metadata?.creationTimestamp ?? now)),
      trigger: triggerOf(active),
    };
  // The Job status names as active but the cache does not hold: just created (wait for it), or deleted.
  const missing =
    !active &&
    previous.activeJob &&
    !recorded.has(previous.activeJob.name) &&
    !i.jobs.some((j) => j.metadata?.name === previous.activeJob!.name)
      ? previous.activeJob
      : undefined;
  if (missing && now.getTime() - Date.parse(missing.startTime) < JOB_CACHE_GRACE_MS) {
    status.activeJob = missing;
    requeue(1_000);
  } else if (missing) {
    status.history!.unshift({
      time: rfc3339(now),
      trigger: missing.trigger,
      job: missing.name,
      outcome: 'Failed',
      message: 'the Job was deleted before it finished',
    });
    plan.events.push({
      type: 'Warning',
      reason: 'TrainingFailed',
      message: `Job ${missing.name} was deleted before it finished`,
    });
  }

  if (!model) {
    condition(
      'Ready',
      false,
      POLICY_REASONS.modelNotFound,
      `MaintenanceModel ${policy.metadata.namespace}/${policy.spec.modelRef.name} does not exist`,
    );
  } else if (!fleet) {
    condition(
      'Ready',
      false,
      POLICY_REASONS.fleetNotFound,
      `SensorFleet ${policy.metadata.namespace}/${model.spec.fleetRef.name} of the model does not exist`,
    );
  } else {
    const schedule = policy.spec.triggers.schedule;
    const invalid = schedule === undefined ? undefined : scheduleError(schedule);
    if (invalid)
      condition(
        'Ready',
        false,
        POLICY_REASONS.invalidSchedule,
        `triggers.schedule "${schedule}" is not a valid cron schedule (${invalid}); it never fires, the other triggers still do`,
      );
    else
      condition('Ready', true, POLICY_REASONS.watching, `watching MaintenanceModel ${model.metadata.name}`);
    if (policy.spec.triggers.drift) requeue(DRIFT_RECHECK_MS);
    driftStatus(plan, i, condition);
    const decision = decideTrigger({ policy, now, jobActive: !!status.activeJob, drift: i.drift });
    requeue(decision.recheckAfterMs);
    if (decision.fire) {
      const run = runs + 1;
      plan.create = desiredJob({
        policy,
        model,
        fleet,
        run,
        trigger: decision.fire,
        stable: servingArtifact(model),
        image: i.image,
      });
      status.runs = run;
      status.lastTriggerTime = rfc3339(now);
      status.lastTriggerReason = decision.fire;
      status.activeJob = { name: jobName(policy, run), startTime: rfc3339(now), trigger: decision.fire };
      plan.events.push({
        type: 'Normal',
        reason: 'TrainingStarted',
        message: `Job ${jobName(policy, run)} trains a candidate for ${model.metadata.name}: ${decision.message}`,
      });
    } else if (decision.suppressed) {
      condition('Training', false, POLICY_REASONS.coolingDown, decision.suppressed.message);
    }
    // A run asked for while one runs starts after it: the annotation stays until then.
    if (decision.fire === 'Manual') plan.clearRetrainAnnotation = true;
  }
  if (status.activeJob)
    condition(
      'Training',
      true,
      POLICY_REASONS.jobRunning,
      `Job ${status.activeJob.name} (${status.activeJob.trigger}) is training`,
    );
  else if (!conditions.some((c) => c.type === 'Training')) {
    const last = status.history![0];
    if (last && last.outcome !== 'Succeeded')
      condition(
        'Training',
        false,
        POLICY_REASONS.trainingFailed,
        `Job ${last.job} ${last.outcome === 'TimedOut' ? 'timed out' : 'failed'}: ${last.message ?? ''}`.trim(),
      );
    else condition('Training', false, POLICY_REASONS.idle, 'no training Job runs');
  }
  promotionCondition(policy, model, status, condition);

  status.candidates = status.candidates!.slice(0, CANDIDATES_LIMIT);
  status.history = status.history!.slice(0, HISTORY_LIMIT);
  if (status.candidates.length === 0) delete status.candidates;
  if (status.history.length === 0) delete status.history;
  plan.prune = jobsToPrune(i.jobs);
  let next = status.conditions ?? [];
  for (const c of conditions) next = setCondition(next, c, now);
  status.conditions = next;
  return plan;
}

function recordRun(
  plan: PolicyPlan,
  i: PolicyInputs,
  job: V1Job,
  outcome: Exclude<JobOutcome, 'Running'>,
  message: string | undefined,
) {
  const { status } = plan;
  const name = job.metadata!.name!;
  const trigger = triggerOf(job);
  const time = finishedAt(job, i.now);
  const fail = (why: string, how: 'Failed' | 'TimedOut' = 'Failed') => {
    const text = why.slice(0, 1024);
    status.history!.unshift({ time, trigger, job: name, outcome: how, message: text });
    plan.events.push({
      type: 'Warning',
      reason: how === 'TimedOut' ? 'TrainingTimedOut' : 'TrainingFailed',
      message: `Job ${name}: ${text}`,
    });
  };
  if (outcome !== 'Succeeded') {
    const limit = i.policy.spec.training.timeout;
    fail(
      outcome === 'TimedOut'
        ? `ran past training.timeout ${limit}`
        : (message ?? 'the trainer failed without a message'),
      outcome,
    );
    return;
  }
  const result = parseTrainingResult(message);
  if ('error' in result) {
    fail(result.error);
    return;
  }
  const verdict = gate(i.policy.spec.evaluation, result);
  status.history!.unshift({
    time,
    trigger,
    job: name,
    outcome: 'Succeeded',
    candidate: result.candidate.version,
    message: verdict.message.slice(0, 1024),
  });
  status.candidates!.unshift({
    version: result.candidate.version,
    uri: result.candidate.uri,
    sha256: result.candidate.sha256,
    job: name,
    trigger,
    createdAt: time,
    metric: result.candidateMetric,
    ...(result.stableMetric !== undefined ? { stableMetric: result.stableMetric } : {}),
    verdict: verdict.passed ? 'Passed' : 'Failed',
    message: (result.warning ? `${verdict.message}; ${result.warning}` : verdict.message).slice(0, 1024),
  });
  // Manual promotion is a person's (or a GitOps commit's) job: the Event says exactly what to write.
  const instruction =
    verdict.passed && i.policy.spec.promotion === 'Manual'
      ? `; ${promoteInstruction(i.model?.metadata.name ?? i.policy.spec.modelRef.name, result.candidate)}`
      : '';
  plan.events.push({
    type: verdict.passed ? 'Normal' : 'Warning',
    reason: verdict.passed ? 'CandidatePassed' : POLICY_REASONS.gateFailed,
    message: `candidate ${result.candidate.version} from Job ${name}: ${verdict.message}${instruction}`,
  });
}

function promoteInstruction(model: string, c: { version: string; uri: string; sha256: string }): string {
  return `set spec.model of MaintenanceModel ${model} to version: ${c.version}, uri: ${c.uri}, sha256: ${c.sha256} to promote it`;
}

type AddCondition = (type: string, ok: boolean, reason: string, message: string) => void;

function driftStatus(plan: PolicyPlan, i: PolicyInputs, condition: AddCondition) {
  const d = i.drift;
  if (!i.policy.spec.triggers.drift || !d) return;
  if (!d.judged) {
    condition(
      'Drifting',
      false,
      POLICY_REASONS.driftNotJudged,
      d.reason ?? `fewer than ${i.policy.spec.triggers.drift.minSamples} readings in the window`,
    );
    return;
  }
  const top = d.features[0];
  if (d.drifting && top) {
    plan.status.lastDrift = { score: top.score, feature: top.name, method: top.method, time: d.time };
    const names = d.features
      .filter((f) => f.drifting)
      .slice(0, 5)
      .map(
        (f) =>
          `${f.name} ${f.method} ${Number(f.score.toPrecision(3))} > ${Number(f.threshold.toPrecision(3))}`,
      );
    condition(
      'Drifting',
      true,
      POLICY_REASONS.driftDetected,
      `version ${d.version}: ${names.join(', ')}${top.since ? ` (since ${top.since})` : ''}`,
    );
  } else
    condition(
      'Drifting',
      false,
      POLICY_REASONS.noDrift,
      `version ${d.version}: every watched input within its threshold`,
    );
}

function promotionCondition(
  policy: RetrainPolicy,
  model: MaintenanceModel | undefined,
  status: RetrainPolicyStatus,
  condition: AddCondition,
) {
  const newest = status.candidates?.[0];
  if (!newest) {
    condition('Promotable', false, POLICY_REASONS.noCandidate, 'no candidate yet');
    return;
  }
  const model_ = model?.metadata.name ?? policy.spec.modelRef.name;
  switch (newest.verdict) {
    case 'Passed':
      if (policy.spec.promotion === 'Auto')
        condition(
          'Promotable',
          true,
          POLICY_REASONS.rollingOut,
          `candidate ${newest.version} rolls out through MaintenanceModel ${model_}'s rollout`,
        );
      else
        condition(
          'Promotable',
          true,
          POLICY_REASONS.awaitingPromotion,
          `candidate ${newest.version} passed: ${promoteInstruction(model_, newest)}`,
        );
      return;
    case 'Promoted':
      condition('Promotable', false, POLICY_REASONS.promoted, `candidate ${newest.version} serves`);
      return;
    case 'Rejected':
      condition(
        'Promotable',
        false,
        POLICY_REASONS.rejected,
        `candidate ${newest.version}: ${newest.message ?? 'rolled back'}`,
      );
      return;
    default:
      condition(
        'Promotable',
        false,
        POLICY_REASONS.gateFailed,
        `candidate ${newest.version}: ${newest.message ?? 'did not pass the gate'}`,
      );
  }
}

/** Finished Jobs beyond the newest SUCCEEDED_JOBS_KEPT succeeded and FAILED_JOBS_KEPT failed ones. */
export function jobsToPrune(jobs: V1Job[]): string[] {
  const byAge = [...jobs].sort(
    (a, b) =>
      Date.parse(String(b.metadata?.creationTimestamp ?? 0)) -
      Date.parse(String(a.metadata?.creationTimestamp ?? 0)),
  );
  const succeeded = byAge.filter((j) => jobOutcome(j) === 'Succeeded').slice(SUCCEEDED_JOBS_KEPT);
  const failed = byAge.filter((j) => ['Failed', 'TimedOut'].includes(jobOutcome(j))).slice(FAILED_JOBS_KEPT);
  return [...succeeded, ...failed].map((j) => j.metadata!.name!);
}
