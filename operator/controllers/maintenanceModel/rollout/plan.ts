// The rollout state machine: (spec, status, the new version's readiness, what the stable runs, the
// analysis book, the control annotations, now) → the next rollout status and what to do. Pure, so
// every transition is a table test; the reconciler gathers the inputs and performs the actions.
// Level-based: everything it needs from the past is in status.rollout / status.rolledBack, so an
// operator restart resumes where the last one stopped.
import { parseDuration } from '../../../api/duration.ts';
import {
  ROLLOUT_ANNOTATIONS,
  type MaintenanceModel,
  type MaintenanceModelStatus,
  type ModelPhase,
  type RolloutAction,
} from '../../../api/maintenanceModel.ts';
import { rfc3339, type ConditionInput } from '../../../framework/conditions.ts';
import { canaryPartitionCount, type Split } from '../../../../contracts/split.ts';
import { judgeInterval, type Measurement } from './analysis.ts';

export type RolloutStatus = NonNullable<MaintenanceModelStatus['rollout']>;
export type RolledBack = NonNullable<MaintenanceModelStatus['rolledBack']>;
export type HistoryEntry = NonNullable<MaintenanceModelStatus['history']>[number];
type AnalysisResult = NonNullable<RolloutStatus['results']>[number];

export interface ArtifactRef {
  version: string;
  uri: string;
  sha256: string;
}

/** A version as served: with its model inputs and output. */
export type ServedRef = RolloutStatus['stable'];

/** A verified version that differs from what the stable serves, and where it came from. */
export interface RolloutTarget {
  artifact: ArtifactRef;
  source: 'Spec' | 'Candidate' | 'RetrainPolicy';
  /** RetrainPolicy source: the policy. */
  policy?: string;
}

/** The new version's Deployment: a canary takes partitions; a shadow reads every reading beside the stable. */
export type CandidateRole = 'canary' | 'shadow';
export const CANDIDATE_ROLES: readonly CandidateRole[] = ['canary', 'shadow'];

export interface RolloutInputs {
  model: MaintenanceModel;
  /** What the stable serves: the rollout's recorded stable while one runs, else what the stable Deployment serves (verified). */
  stable: ServedRef;
  target: RolloutTarget | undefined;
  /** Every pod of the new version's Deployment in `role` runs its current template and is ready. */
  candidateReady(role: CandidateRole): boolean;
  /** The stable Deployment runs the target on every replica (the last stage of a promotion). */
  stableRunsTarget: boolean;
  /** Partitions of the fleet's stream and the model's input mode: how weight can be split. */
  partitions: number;
  inputMode: 'jetstream' | 'core';
  /** What a role's runtimes reported in windows ending in (from, to], epoch ms. */
  measure(role: CandidateRole | 'stable', version: string, from: number, to: number): Measurement;
  now: Date;
}

export interface RolloutEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface RolloutPlan {
  rollout: RolloutStatus | undefined;
  rolledBack: RolledBack | undefined;
  promotable: ArtifactRef | undefined;
  /** The artifact the stable Deployment serves: the target only in a promotion's last stage. */
  stableServes: 'stable' | 'target';
  /** The new version's Deployment: run it (`run`), keep its pods without traffic (`drain`), or remove it. */
  candidate: 'run' | 'drain' | 'remove';
  /** Which Deployment the new version runs in (a shadow's promotion goes through a 100% canary). */
  candidateRole: CandidateRole;
  /** The split to write; `stable-only` leaves the stable path (desiredSplit) to decide. */
  split: Split | 'stable-only';
  history: HistoryEntry[];
  events: RolloutEvent[];
  /** Control annotations acted on: the reconciler removes them. */
  consumed: string[];
  /** The Progressing and Promotable conditions (absent: leave as they are). */
  conditions: ConditionInput[];
  /** Phase while a rollout runs or just ended; undefined leaves the serving phase (Stable, Degraded). */
  phase: ModelPhase | undefined;
  /** The rollout ended with the target as the new stable (Spec source). */
  promoted: boolean;
  requeueAfterMs: number | undefined;
}

/** Reasons of the Progressing condition and of status.rolledBack (docs/troubleshooting.md lists each). */
export const ROLLOUT_REASONS = {
  aborted: 'Aborted',
  analysisFailed: 'AnalysisFailed',
  canaryStep: 'CanaryStep',
  noRollout: 'NoRollout',
  progressDeadlineExceeded: 'ProgressDeadlineExceeded',
  promoting: 'Promoting',
  rolloutRefused: 'RolloutRefused',
  shadowRun: 'ShadowRun',
  waitingForCandidate: 'WaitingForCandidate',
  rolloutPaused: 'RolloutPaused',
} as const;

/** A rolled-back version's pods are kept this long without traffic, then removed. */
export const CANDIDATE_SCALE_DOWN_DELAY_MS = 30_000;
/** How often a rollout waiting on pods looks again (Deployment status also wakes it). */
const WAITING_RECHECK_MS = 5_000;
const MIN_REQUEUE_MS = 250;
const MAX_REQUEUE_MS = 30_000;
export const HISTORY_LIMIT = 20;
export const RESULTS_LIMIT = 10;

/** Which control annotations are set on the model. */
export function requestedActions(model: MaintenanceModel): Set<RolloutAction> {
  const annotations = model.metadata.annotations ?? {};
  const set = new Set<RolloutAction>();
  for (const [action, key] of Object.entries(ROLLOUT_ANNOTATIONS) as [RolloutAction, string][])
    if (annotations[key] !== undefined) set.add(action);
  return set;
}

const ms = (t: string): number => new Date(t).getTime();

function progressing(
  gen: number | undefined,
  status: 'True' | 'False',
  reason: string,
  message: string,
): ConditionInput {
  return { type: 'Progressing', status, reason, message, observedGeneration: gen };
}

function promotableCondition(gen: number | undefined, promotable: ArtifactRef | undefined): ConditionInput {
  return promotable
    ? {
        type: 'Promotable',
        status: 'True',
        reason: 'CandidatePassed',
        message: `rollout.candidate passed: set spec.model to version ${promotable.version}, uri ${promotable.uri}, sha256 ${promotable.sha256}`,
        observedGeneration: gen,
      }
    : {
        type: 'Promotable',
        status: 'False',
        reason: 'NoPassedCandidate',
        message: 'no rollout.candidate has passed',
        observedGeneration: gen,
      };
}

const describe = (a: { version: string; sha256: string }): string =>
  `${a.version} (sha256 ${a.sha256.slice(0, 12)}…)`;

/** The split giving the canary `weight`% of the fleet, at the grain the input allows. */
export function canarySplit(
  stable: string,
  canary: string,
  weight: number,
  partitions: number,
  inputMode: 'jetstream' | 'core',
): { split: Split; weight: number } {
  if (inputMode === 'core')
    return { split: { stable: { version: stable }, canary: { version: canary, weight } }, weight };
  const k = canaryPartitionCount(weight, partitions);
  const effective = Math.round((100 * k) / partitions);
  return {
    split: { stable: { version: stable }, canary: { version: canary, weight: effective, partitions: k } },
    weight: effective,
  };
}

export function planRollout(i: RolloutInputs): RolloutPlan {
  const { model, now } = i;
  const gen = model.metadata.generation;
  const spec = model.spec.rollout;
  const status = model.status ?? {};
  const actions = requestedActions(model);
  const t = now.getTime();
  const plan: RolloutPlan = {
    rollout: status.rollout,
    rolledBack: status.rolledBack,
    promotable: status.promotable,
    stableServes: 'stable',
    candidate: 'remove',
    candidateRole: status.rollout?.strategy === 'Shadow' && status.rollout.step === 0 ? 'shadow' : 'canary',
    split: 'stable-only',
    history: [],
    events: [],
    consumed: [],
    conditions: [],
    phase: undefined,
    promoted: false,
    requeueAfterMs: undefined,
  };
  const consume = (action: RolloutAction) => plan.consumed.push(ROLLOUT_ANNOTATIONS[action]);
  const target = i.target;

  // A rollout whose version is no longer the one asked for (spec changed, candidate removed) ends
  // first; the newest version then starts over below.
  if (plan.rollout && plan.rollout.target.sha256 !== target?.artifact.sha256) {
    const old = plan.rollout.target;
    const message = target
      ? `replaced by ${describe(target.artifact)} before it completed`
      : 'no longer requested before it completed';
    plan.history.push({
      version: old.version,
      sha256: old.sha256,
      event: 'Aborted',
      time: rfc3339(now),
      message,
    });
    plan.events.push({
      type: 'Normal',
      reason: 'RolloutAborted',
      message: `rollout of ${describe(old)} ${message}`,
    });
    plan.rollout = undefined;
  }
  // A rolled-back version is remembered until something else is asked for.
  if (plan.rolledBack && plan.rolledBack.sha256 !== target?.artifact.sha256) plan.rolledBack = undefined;
  // A promotable candidate stays reported until spec.model takes it (then it rolls out directly).
  if (plan.promotable && plan.promotable.sha256 !== target?.artifact.sha256) plan.promotable = undefined;

  if (!target || !spec) {
    if (status.rollout || status.promotable)
      plan.conditions.push(
        progressing(gen, 'False', ROLLOUT_REASONS.noRollout, 'no new version to roll out'),
      );
    plan.conditions.push(promotableCondition(gen, plan.promotable));
    return plan;
  }
  plan.conditions.push(promotableCondition(gen, plan.promotable));

  if (plan.rolledBack && !plan.rollout) {
    if (!actions.has('retry')) {
      const since = t - ms(plan.rolledBack.time);
      const draining = since < CANDIDATE_SCALE_DOWN_DELAY_MS;
      plan.candidate = draining ? 'drain' : 'remove';
      plan.phase = draining ? 'RollingBack' : 'RolledBack';
      if (draining) plan.requeueAfterMs = CANDIDATE_SCALE_DOWN_DELAY_MS - since;
      plan.conditions.push(
        progressing(
          gen,
          'False',
          plan.rolledBack.reason,
          `${describe(plan.rolledBack)} was rolled back: ${plan.rolledBack.message}; set the ${ROLLOUT_ANNOTATIONS.retry} annotation to try it again`,
        ),
      );
      return plan;
    }
    consume('retry');
    plan.events.push({
      type: 'Normal',
      reason: 'RolloutRetried',
      message: `retrying ${describe(plan.rolledBack)}`,
    });
    plan.rolledBack = undefined;
  }
  if (plan.promotable) {
    plan.phase = 'Paused';
    return plan;
  }

  // A shadow needs no partition grain: it reads every reading, and its promotion hands it all of them.
  if (spec.strategy === 'Canary' && i.inputMode === 'jetstream' && i.partitions < 2) {
    plan.conditions.push(
      progressing(
        gen,
        'False',
        ROLLOUT_REASONS.rolloutRefused,
        `a canary over JetStream hands partitions to the new version, and the fleet's stream has ${i.partitions}: set the SensorFleet's spec.stream.partitions to 2 or more (10 or more for a 10% grain)`,
      ),
    );
    return plan;
  }
  const steps = spec.steps ?? [];

  let r = plan.rollout;
  if (!r) {
    r = {
      strategy: spec.strategy,
      source: target.source,
      ...(target.policy ? { policy: target.policy } : {}),
      target: target.artifact,
      stable: i.stable,
      startedAt: rfc3339(now),
      step: 0,
      stepStartedAt: rfc3339(now),
      weight: 0,
    };
    plan.events.push({
      type: 'Normal',
      reason: 'RolloutStarted',
      message: `${spec.strategy === 'Shadow' ? 'shadow' : 'canary'} of ${describe(target.artifact)} started beside ${describe(i.stable)}`,
    });
  } else r = { ...r };
  plan.rollout = r;
  plan.candidate = 'run';
  // A shadow runs one stage, the shadow run; a canary one per step. Then the new version takes 100%.
  const shadow = r.strategy === 'Shadow';
  const stages = shadow ? 1 : steps.length;
  const role: CandidateRole = shadow && r.step < stages ? 'shadow' : 'canary';
  plan.candidateRole = role;

  const rollBack = (reason: string, message: string, event: 'RolledBack' | 'Aborted'): RolloutPlan => {
    plan.rollout = undefined;
    plan.rolledBack = {
      version: r.target.version,
      sha256: r.target.sha256,
      time: rfc3339(now),
      reason,
      message,
    };
    plan.history.push({
      version: r.target.version,
      sha256: r.target.sha256,
      event,
      time: rfc3339(now),
      message,
    });
    plan.events.push({ type: 'Warning', reason, message: `${describe(r.target)} rolled back: ${message}` });
    plan.split = 'stable-only';
    plan.stableServes = 'stable';
    plan.candidate = 'drain';
    plan.phase = 'RollingBack';
    plan.requeueAfterMs = CANDIDATE_SCALE_DOWN_DELAY_MS;
    plan.conditions.push(progressing(gen, 'False', reason, `${describe(r.target)} rolled back: ${message}`));
    return plan;
  };

  if (actions.has('abort')) {
    consume('abort');
    return rollBack(
      ROLLOUT_REASONS.aborted,
      `aborted by the ${ROLLOUT_ANNOTATIONS.abort} annotation`,
      'Aborted',
    );
  }
  if (actions.has('pause')) {
    consume('pause');
    if (!r.paused)
      plan.events.push({
        type: 'Normal',
        reason: ROLLOUT_REASONS.rolloutPaused,
        message: 'paused by annotation',
      });
    r.paused = true;
  }
  if (actions.has('resume')) {
    consume('resume');
    if (r.paused)
      plan.events.push({ type: 'Normal', reason: 'RolloutResumed', message: 'resumed by annotation' });
    delete r.paused;
  }

  /** Progressing, looked at again soon: pods are on their way. */
  const waiting = (reason: string, message: string): RolloutPlan => {
    plan.phase = 'Progressing';
    plan.requeueAfterMs = WAITING_RECHECK_MS;
    plan.conditions.push(progressing(gen, 'True', reason, message));
    return plan;
  };

  // Never any weight on a version that is not ready; not ready within the progress deadline (from
  // the start, or from when it stopped being ready) rolls back.
  const deadline = parseDuration(spec.progressDeadline);
  if (!i.candidateReady(role)) {
    if (r.readySince !== undefined) {
      delete r.readySince;
      r.stepStartedAt = rfc3339(now);
    } else if (t - ms(r.stepStartedAt) > deadline)
      return rollBack(
        ROLLOUT_REASONS.progressDeadlineExceeded,
        `its pods were not all ready within progressDeadline ${spec.progressDeadline}`,
        'RolledBack',
      );
    r.weight = 0;
    plan.split = 'stable-only';
    return waiting(
      ROLLOUT_REASONS.waitingForCandidate,
      `waiting for every pod of ${describe(r.target)} to be ready`,
    );
  }
  if (r.readySince === undefined) {
    // Ready (again): the current step starts now, with traffic.
    r.readySince = rfc3339(now);
    r.stepStartedAt = rfc3339(now);
  }

  const analysisSpec = spec.analysis;
  const interval = parseDuration(analysisSpec.interval);
  const stepWeight = (step: number) => (step < stages && !shadow ? steps[step]!.weight : 100);
  const applySplit = () => {
    if (role === 'shadow') {
      plan.split = { stable: { version: r.stable.version }, shadow: { version: r.target.version } };
      r.weight = 0;
      return;
    }
    const s = canarySplit(r.stable.version, r.target.version, stepWeight(r.step), i.partitions, i.inputMode);
    plan.split = s.split;
    r.weight = s.weight;
  };

  // The last stage (Spec source): the canary holds 100% while the stable Deployment rolls to the
  // target; the old stable's pods go only once every stable pod runs the new version.
  if (r.step >= stages) {
    applySplit();
    plan.stableServes = 'target';
    if (!i.stableRunsTarget)
      return waiting(
        ROLLOUT_REASONS.promoting,
        `${describe(r.target)} takes 100%; the stable Deployment rolls to it`,
      );
    plan.rollout = undefined;
    plan.promoted = true;
    plan.split = 'stable-only';
    plan.candidate = 'remove';
    plan.history.push({
      version: r.target.version,
      sha256: r.target.sha256,
      event: 'Promoted',
      time: rfc3339(now),
      message: shadow
        ? `after a shadow run of ${spec.shadowDuration ?? ''}`
        : `after ${steps.length} step(s)`,
    });
    plan.events.push({
      type: 'Normal',
      reason: 'RolloutCompleted',
      message: `${describe(r.target)} promoted to stable`,
    });
    plan.conditions.push(
      progressing(gen, 'False', 'RolloutCompleted', `${describe(r.target)} is the stable version`),
    );
    return plan;
  }

  applySplit();

  // One analysis per interval, over the interval just ended, once the new version has traffic.
  const last = r.results?.[0];
  const analysedUntil = Math.max(last ? ms(last.time) : 0, ms(r.stepStartedAt));
  if (t - analysedUntil >= interval) {
    const from = Math.max(analysedUntil, t - interval);
    const result = judgeInterval(
      analysisSpec,
      i.measure(role, r.target.version, from, t),
      i.measure('stable', r.stable.version, from, t),
    );
    const failures =
      result.verdict === 'Failed'
        ? (last?.consecutiveFailures ?? 0) + 1
        : result.verdict === 'Passed'
          ? 0
          : (last?.consecutiveFailures ?? 0);
    const entry: AnalysisResult = { time: rfc3339(now), ...result, consecutiveFailures: failures };
    r.results = [entry, ...(r.results ?? [])].slice(0, RESULTS_LIMIT);
    if (failures >= analysisSpec.failureLimit)
      return rollBack(
        ROLLOUT_REASONS.analysisFailed,
        `${failures} failed analysis interval(s) in a row (failureLimit ${analysisSpec.failureLimit}): ${result.message ?? ''}`.trim(),
        'RolledBack',
      );
  }

  const stepElapsed = t - ms(r.stepStartedAt);
  const latest = r.results?.[0];
  const passedInStep =
    latest !== undefined && latest.verdict === 'Passed' && ms(latest.time) > ms(r.stepStartedAt);
  const pause = parseDuration(shadow ? (spec.shadowDuration ?? '0s') : steps[r.step]!.pause);
  let advance = false;
  if (actions.has('promoteFull')) {
    consume('promoteFull');
    r.step = stages;
    advance = true;
  } else if (actions.has('promote')) {
    consume('promote');
    r.step += 1;
    advance = true;
  } else if (!r.paused && stepElapsed >= pause && passedInStep) {
    r.step += 1;
    advance = true;
  }
  if (advance) {
    r.stepStartedAt = rfc3339(now);
    if (r.source === 'Candidate' && r.step >= stages) {
      plan.rollout = undefined;
      plan.promotable = r.target;
      plan.split = 'stable-only';
      plan.candidate = 'remove';
      plan.phase = 'Paused';
      plan.events.push({
        type: 'Normal',
        reason: 'CandidatePassed',
        message: `rollout.candidate ${describe(r.target)} passed every step: set spec.model to version ${r.target.version}, uri ${r.target.uri}, sha256 ${r.target.sha256} to promote it`,
      });
      plan.conditions = plan.conditions.filter((c) => c.type !== 'Promotable');
      plan.conditions.push(promotableCondition(gen, r.target));
      plan.conditions.push(
        progressing(
          gen,
          'False',
          'CandidatePassed',
          `${describe(r.target)} passed; awaiting promotion into spec.model`,
        ),
      );
      return plan;
    }
    if (shadow) {
      // Passed: the new version takes every partition as a canary (ready first, like any weight),
      // then the stable rolls to it. The shadow's pods and consumers go.
      delete r.readySince;
      r.weight = 0;
      plan.candidateRole = 'canary';
      plan.split = 'stable-only';
      plan.events.push({
        type: 'Normal',
        reason: 'StepCompleted',
        message: `shadow run of ${describe(r.target)} passed; it takes 100% as a canary, then the stable rolls to it`,
      });
      return waiting(
        ROLLOUT_REASONS.promoting,
        `${describe(r.target)} passed its shadow run; waiting for it to be ready as a canary`,
      );
    }
    applySplit();
    if (r.step >= stages) plan.stableServes = 'target';
    plan.events.push({
      type: 'Normal',
      reason: 'StepCompleted',
      message:
        r.step >= steps.length
          ? `${describe(r.target)} takes 100%`
          : `step ${r.step + 1}/${steps.length}: ${describe(r.target)} at ${r.weight}%`,
    });
  }

  plan.phase = r.paused ? 'Paused' : 'Progressing';
  plan.conditions.push(
    progressing(
      gen,
      'True',
      r.paused
        ? ROLLOUT_REASONS.rolloutPaused
        : role === 'shadow'
          ? ROLLOUT_REASONS.shadowRun
          : ROLLOUT_REASONS.canaryStep,
      role === 'shadow'
        ? `shadow: ${describe(r.target)} scores every reading beside ${describe(r.stable)} for ${spec.shadowDuration ?? ''}, publishing no alerts`
        : r.step >= stages
          ? `${describe(r.target)} takes 100%; the stable Deployment rolls to it`
          : `step ${r.step + 1}/${steps.length}: ${describe(r.target)} scores ${r.weight}% of the fleet`,
    ),
  );
  // Back at the next analysis or the end of the step, whichever comes first.
  const sinceAnalysis = t - Math.max(ms(r.results?.[0]?.time ?? r.stepStartedAt), ms(r.stepStartedAt));
  const untilStepEnd = r.step < stages ? pause - (t - ms(r.stepStartedAt)) : WAITING_RECHECK_MS;
  plan.requeueAfterMs = Math.min(
    MAX_REQUEUE_MS,
    Math.max(MIN_REQUEUE_MS, Math.min(interval - sinceAnalysis, untilStepEnd)),
  );
  return plan;
}
