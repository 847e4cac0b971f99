/**
 * How a training Job ended, read from its conditions, and what its trainer said: the TrainingResult
 * JSON of a succeeded pod's termination message, or the failure's one line. Pure.
 */
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { TRAINER_CONTAINER, type TrainingResult } from '../../../contracts/training.ts';

export type JobOutcome = 'Running' | 'Succeeded' | 'Failed' | 'TimedOut';

export function jobOutcome(job: V1Job): JobOutcome {
  const conditions = job.status?.conditions ?? [];
  const holds = (type: string) => conditions.find((c) => c.type === type && c.status === 'True');
  if (holds('Complete')) return 'Succeeded';
  const failed = holds('Failed');
  if (failed) return failed.reason === 'DeadlineExceeded' ? 'TimedOut' : 'Failed';
  return 'Running';
}

/** The trainer container's termination message of the Job's newest terminated pod. */
export function trainerMessage(pods: V1Pod[], wantExitCode: 'zero' | 'nonzero'): string | undefined {
  const terminated = pods
    .map((p) => ({
      at: p.metadata?.creationTimestamp ? new Date(p.metadata.creationTimestamp).getTime() : 0,
      state: p.status?.containerStatuses?.find((c) => c.name === TRAINER_CONTAINER)?.state?.terminated,
    }))
    .filter((p) => p.state && (wantExitCode === 'zero') === (p.state.exitCode === 0))
    .sort((a, b) => b.at - a.at);
  return terminated[0]?.state?.message?.trim() || undefined;
}

const isNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** The TrainingResult a succeeded trainer wrote, checked field by field: it crosses a process boundary. */
export function parseTrainingResult(message: string | undefined): TrainingResult | { error: string } {
  if (!message) return { error: 'the trainer wrote no termination message' };
  const notResult = { error: `the termination message is not a TrainingResult: ${message.slice(0, 200)}` };
  let doc: Partial<TrainingResult>;
  try {
    doc = JSON.parse(message) as Partial<TrainingResult>;
  } catch {
    return notResult;
  }
  // Valid JSON need not be an object: `null` would throw below.
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return notResult;
  const c = doc.candidate;
  if (!c || typeof c.version !== 'string' || typeof c.uri !== 'string' || !/^[0-9a-f]{64}$/.test(c.sha256))
    return { error: 'the TrainingResult names no candidate {version, uri, sha256}' };
  if (typeof doc.metric !== 'string' || !isNumber(doc.candidateMetric))
    return { error: 'the TrainingResult has no numeric candidateMetric for its metric' };
  if (doc.stableMetric !== undefined && !isNumber(doc.stableMetric))
    return { error: 'the TrainingResult stableMetric is not a number' };
  return doc as TrainingResult;
}
