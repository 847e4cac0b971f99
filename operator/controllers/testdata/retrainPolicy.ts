// Typed RetrainPolicy and training Job objects for the RetrainPolicy controller's table tests: a Manual
// policy of the fixture model, gated on f1, with the API defaults filled in.
import type { V1Job } from '@kubernetes/client-node';
import type { RetrainPolicy } from '../../api/retrainPolicy.ts';
import type { JobOutcome } from '../retrainPolicy/jobOutcome.ts';
import { TRIGGER_ANNOTATION } from '../retrainPolicy/job.ts';

export const POLICY_CREATED = '2026-12-01T12:00:00Z';

export function policyFixture(patch: (p: RetrainPolicy) => void = () => {}): RetrainPolicy {
  const policy: RetrainPolicy = {
    apiVersion: 'prognos.dev/v1alpha1',
    kind: 'RetrainPolicy',
    metadata: {
      name: 'pump-retrain',
      namespace: 'plant-a',
      uid: 'policy-uid',
      generation: 3,
      // The client types say Date; the operator's client hands over the API server's strings.
      creationTimestamp: POLICY_CREATED as unknown as Date,
    },
    spec: {
      modelRef: { name: 'pump-failure' },
      triggers: { drift: { method: 'psi', threshold: 0.2, window: '1h', minSamples: 1000 } },
      cooldown: '6h',
      training: { dataWindow: '7d', timeout: '2h', backoffLimit: 1 },
      evaluation: { metric: 'f1', mustBeatStable: true, minImprovement: 0 },
      promotion: 'Manual',
    },
  };
  patch(policy);
  return policy;
}

const CONDITION: Record<Exclude<JobOutcome, 'Running'>, { type: string; reason?: string }> = {
  Succeeded: { type: 'Complete' },
  Failed: { type: 'Failed', reason: 'BackoffLimitExceeded' },
  TimedOut: { type: 'Failed', reason: 'DeadlineExceeded' },
};

/** A training Job of the fixture policy, as the API server returns it. */
export function jobFixture(
  name: string,
  outcome: JobOutcome,
  opts: { created?: string; finished?: string; trigger?: string } = {},
): V1Job {
  const created = opts.created ?? '2026-12-03T09:00:00Z';
  const condition = outcome === 'Running' ? undefined : CONDITION[outcome];
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace: 'plant-a',
      creationTimestamp: created as unknown as Date,
      annotations: { [TRIGGER_ANNOTATION]: opts.trigger ?? 'Drift' },
    },
    status: {
      startTime: created as unknown as Date,
      ...(outcome === 'Succeeded' && opts.finished
        ? { completionTime: opts.finished as unknown as Date }
        : {}),
      ...(condition
        ? {
            conditions: [
              {
                ...condition,
                status: 'True',
                lastTransitionTime: (opts.finished ?? '2026-12-03T09:30:00Z') as unknown as Date,
              },
            ],
          }
        : {}),
    },
  };
}
