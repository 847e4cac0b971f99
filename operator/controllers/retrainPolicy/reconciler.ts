import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { MaintenanceModel } from '../../api/maintenanceModel.ts';
import type { RetrainPolicy, RetrainPolicySpec } from '../../api/retrainPolicy.ts';
import type { SensorFleet } from '../../api/sensorFleet.ts';
import type { ReconcileIo } from '../../framework/controller.ts';
import { isConflict } from '../../framework/kubeClient.ts';
import { StatusWrites, updateStatus } from '../../framework/status.ts';
import type { DriftAssessment } from './drift/assessment.ts';
import { jobOutcome, trainerMessage } from './jobOutcome.ts';
import { planPolicy } from './plan.ts';
import { RETRAIN_ANNOTATION } from './triggers.ts';

/** Cached reads: a reconcile reads the shared informers, never the API server (except finished Jobs' pods). */
export interface PolicyLookups {
  model(namespace: string, name: string): MaintenanceModel | undefined;
  fleet(namespace: string, name: string): SensorFleet | undefined;
  /** Jobs whose controller is the policy with this uid. */
  jobs(namespace: string, policyUid: string): V1Job[];
}

/** The drift detector's verdict on the model's serving version, under the policy's drift trigger. */
export type DriftSource = (
  namespace: string,
  model: string,
  trigger: NonNullable<RetrainPolicySpec['triggers']['drift']>,
  now: Date,
) => DriftAssessment | undefined;

export interface PolicyReconcilerDeps {
  /** The trainer image released with the operator (training.image overrides it). */
  image: string;
  drift?: DriftSource;
  log: Logger;
  now?: () => Date;
}

const POD = { apiVersion: 'v1', kind: 'Pod' } as const;

/**
 * Reconciles one RetrainPolicy: gather the model, fleet, owned Jobs (and a finished Job's trainer
 * message from its pods), plan (plan.ts), then create the Job, prune old ones, emit the Events and
 * write the status once.
 */
export class RetrainPolicyReconciler {
  readonly #deps: PolicyReconcilerDeps;
  readonly #statusWrites = new StatusWrites();

  constructor(deps: PolicyReconcilerDeps) {
    this.#deps = deps;
  }

  async reconcile(
    key: string,
    cached: RetrainPolicy | undefined,
    lookups: PolicyLookups,
    io: ReconcileIo,
  ): Promise<{ requeueAfterMs?: number }> {
    // Its Jobs go with the garbage collector (owner references); nothing else outlives it.
    if (!cached || cached.metadata.deletionTimestamp) {
      this.#statusWrites.forget(key);
      return {};
    }
    const policy = this.#statusWrites.fresh(cached);
    const ns = policy.metadata.namespace!;
    const now = this.#deps.now?.() ?? new Date();
    const model = lookups.model(ns, policy.spec.modelRef.name);
    const fleet = model && lookups.fleet(ns, model.spec.fleetRef.name);
    const jobs = lookups.jobs(ns, policy.metadata.uid!);
    const trigger = policy.spec.triggers.drift;
    const drift = trigger && model ? this.#deps.drift?.(ns, model.metadata.name!, trigger, now) : undefined;
    const inputs = { policy, model, fleet, jobs, drift, image: this.#deps.image, now, messages: new Map() };
    let plan = planPolicy(inputs);
    if (plan.needMessages.length > 0) {
      const messages = new Map<string, string | undefined>();
      for (const name of plan.needMessages) {
        const job = jobs.find((j) => j.metadata?.name === name)!;
        messages.set(name, await this.#trainerMessage(io, ns, job));
      }
      plan = planPolicy({ ...inputs, messages });
    }
    if (plan.create) {
      // Created before the status names it; a Job left by a status write that failed is the same run.
      await io.client.create(plan.create).catch((error: unknown) => {
        if (!isConflict(error)) throw error;
      });
    }
    for (const name of plan.prune)
      await io.client.delete({ apiVersion: 'batch/v1', kind: 'Job', namespace: ns, name }, 'Background');
    for (const e of plan.events) void io.events.emit(policy, { ...e, action: 'Retrain' });
    await updateStatus(io.client, policy, plan.status, this.#statusWrites);
    if (plan.clearRetrainAnnotation)
      await io.client.patch(
        { apiVersion: policy.apiVersion, kind: policy.kind, namespace: ns, name: policy.metadata.name! },
        { metadata: { annotations: { [RETRAIN_ANNOTATION]: null } } },
        'application/merge-patch+json',
      );
    return plan.requeueAfterMs !== undefined ? { requeueAfterMs: plan.requeueAfterMs } : {};
  }

  /** What the trainer wrote when the Job ended: a succeeded pod's result, or the last failed pod's reason. */
  async #trainerMessage(io: ReconcileIo, ns: string, job: V1Job): Promise<string | undefined> {
    const { items } = await io.client.list<V1Pod>(
      POD,
      { namespace: ns, labelSelector: `batch.kubernetes.io/job-name=${job.metadata!.name!}` },
      io.signal,
    );
    return trainerMessage(items, jobOutcome(job) === 'Succeeded' ? 'zero' : 'nonzero');
  }
}
