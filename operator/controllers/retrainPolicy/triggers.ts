/**
 * Whether a RetrainPolicy starts a training run now: one active Job at most, triggers within the
 * cooldown of the last run ignored (except the retrain annotation: a person asked), and when to look
 * again (the cooldown's end, the schedule's next time). Pure: the reconciler gathers the inputs.
 */
import { CronExpressionParser } from 'cron-parser';
import type { RetrainPolicy, TriggerReason } from '../../api/retrainPolicy.ts';
import { parseDuration } from '../../api/duration.ts';
import type { DriftAssessment } from './drift/assessment.ts';

/** Set (to any value) on a RetrainPolicy to start a run at once; removed once the run started. */
export const RETRAIN_ANNOTATION = 'prognos.dev/retrain';

export interface TriggerInputs {
  policy: RetrainPolicy;
  now: Date;
  /** A training Job of this policy that has not finished. */
  jobActive: boolean;
  /** The drift detector's latest verdict on the serving version, when the policy watches drift. */
  drift?: DriftAssessment | undefined;
}

export type TriggerDecision =
  | { fire: TriggerReason; message: string; recheckAfterMs?: undefined }
  | { fire?: undefined; suppressed?: { reason: TriggerReason; message: string }; recheckAfterMs?: number };

/**
 * Why cron-parser refuses a schedule, or undefined when it is valid. The CRD's pattern only checks
 * the shape (five fields), so "61 * * * *" reaches the controller.
 */
export function scheduleError(schedule: string): string | undefined {
  try {
    CronExpressionParser.parse(schedule, { tz: 'UTC' });
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** The latest schedule time in (after, now], if any. */
export function scheduleDue(schedule: string, after: Date, now: Date): Date | undefined {
  // prev() is strictly before currentDate: one millisecond past now makes a time exactly now due.
  const latest = CronExpressionParser.parse(schedule, { currentDate: new Date(now.getTime() + 1), tz: 'UTC' })
    .prev()
    .toDate();
  return latest > after ? latest : undefined;
}

export function nextSchedule(schedule: string, now: Date): Date {
  return CronExpressionParser.parse(schedule, { currentDate: now, tz: 'UTC' }).next().toDate();
}

function firstFiring(
  inputs: TriggerInputs,
  since: Date,
): { fire: TriggerReason; message: string } | undefined {
  const { policy, now, drift } = inputs;
  if (policy.metadata.annotations?.[RETRAIN_ANNOTATION] !== undefined)
    return { fire: 'Manual', message: `the ${RETRAIN_ANNOTATION} annotation asked for a run` };
  if (policy.spec.triggers.drift && drift?.judged && drift.drifting) {
    const top = drift.features.find((f) => f.drifting);
    return {
      fire: 'Drift',
      message: top
        ? `${top.name} drifted from version ${drift.version}'s training baseline: ${top.method} ${round(top.score)} > ${round(top.threshold)} over ${top.samples} readings`
        : `the inputs drifted from version ${drift.version}'s training baseline`,
    };
  }
  const schedule = validSchedule(policy);
  if (schedule) {
    const due = scheduleDue(schedule, since, now);
    if (due) return { fire: 'Schedule', message: `schedule "${schedule}" was due at ${due.toISOString()}` };
  }
  return undefined;
}

/** The policy's schedule when cron-parser accepts it (an invalid one is reported by the plan, not fired). */
function validSchedule(policy: RetrainPolicy): string | undefined {
  const schedule = policy.spec.triggers.schedule;
  return schedule !== undefined && scheduleError(schedule) === undefined ? schedule : undefined;
}

const round = (x: number) => Number(x.toPrecision(3));

export function decideTrigger(inputs: TriggerInputs): TriggerDecision {
  const { policy, now } = inputs;
  const last = policy.status?.lastTriggerTime ? new Date(policy.status.lastTriggerTime) : undefined;
  // A schedule counts from the last run, or from the policy's creation: a new policy does not fire
  // for every past schedule time.
  const since = last ?? new Date(policy.metadata.creationTimestamp ?? now);
  const schedule = validSchedule(policy);
  const untilSchedule = schedule ? nextSchedule(schedule, now).getTime() - now.getTime() : undefined;
  if (inputs.jobActive) return {};
  const firing = firstFiring(inputs, since);
  if (!firing) return untilSchedule !== undefined ? { recheckAfterMs: untilSchedule } : {};
  const cooldownEnds = last ? last.getTime() + parseDuration(policy.spec.cooldown) : 0;
  if (firing.fire !== 'Manual' && now.getTime() < cooldownEnds)
    return {
      suppressed: {
        reason: firing.fire,
        message: `${firing.message}; in cooldown until ${new Date(cooldownEnds).toISOString()}`,
      },
      recheckAfterMs: cooldownEnds - now.getTime(),
    };
  return firing;
}
