/**
 * The training Job a RetrainPolicy runs: training.template (or an empty pod) with the `trainer`
 * container filled in: image, `prognos-trainer job`, the TrainingRequest, resources, the fleet's
 * NATS Secrets at the paths the runtime reads them from, and a writable scratch directory (TMPDIR). Owned by the policy,
 * labelled with it, never retried by the Job beyond training.backoffLimit.
 */
import type { V1Container, V1Job, V1PodSpec } from '@kubernetes/client-node';
import { API_VERSION } from '../../api/meta.ts';
import { parseDuration } from '../../api/duration.ts';
import type { MaintenanceModel } from '../../api/maintenanceModel.ts';
import { RETRAIN_POLICY_KIND, type RetrainPolicy, type TriggerReason } from '../../api/retrainPolicy.ts';
import type { SensorFleet } from '../../api/sensorFleet.ts';
import {
  MODELS_BUCKET,
  TRAINER_CONTAINER,
  TRAINING_REQUEST_ENV,
  type ArtifactReference,
  type TrainingRequest,
} from '../../../contracts/training.ts';
import { quantities, SecretMounts } from '../podParts.ts';

export const POLICY_LABEL = 'prognos.dev/retrain-policy';
/**
 * The trainer's temporary files (the matrices handed to LightGBM), on an emptyDir: the root
 * filesystem may be read-only. TMPDIR points there (Node and Python both honour it) rather than an
 * emptyDir over /tmp, which would hide whatever an image keeps in /tmp.
 */
const SCRATCH = '/scratch';
export const TRIGGER_ANNOTATION = 'prognos.dev/trigger';
export const CANDIDATE_ANNOTATION = 'prognos.dev/candidate-version';

export interface JobInputs {
  policy: RetrainPolicy;
  model: MaintenanceModel;
  fleet: SensorFleet;
  /** The run's number (status.runs + 1): the Job is `<policy>-<run>`, the candidate `<model>-rt-<run>-<uid>`. */
  run: number;
  trigger: TriggerReason;
  /** What serves now; the trainer scores it on the same holdout. */
  stable: ArtifactReference | undefined;
  image: string;
}

export function jobName(policy: RetrainPolicy, run: number): string {
  return `${policy.metadata.name}-${run}`;
}

/**
 * The candidate's version label, also its object name in the models bucket. The policy's uid prefix
 * keeps it unique across policies of one model and across a policy deleted and created again (whose
 * runs count from 1 again): otherwise a new run would overwrite an artifact that may be serving.
 */
export function candidateVersion(policy: RetrainPolicy, model: MaintenanceModel, run: number): string {
  return `${model.metadata.name}-rt-${run}-${(policy.metadata.uid ?? '').slice(0, 6)}`;
}

/** Manifests as the trainer reads them: spec and identity; status and managed fields stay out. */
function manifest<T extends { apiVersion?: string; kind?: string; metadata: object; spec: unknown }>(o: T) {
  const { name, namespace, uid, generation } = o.metadata as Record<string, unknown>;
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    metadata: { name, namespace, uid, generation },
    spec: o.spec,
  };
}

export function trainingRequest(inputs: JobInputs): TrainingRequest {
  const { policy, model, fleet, run, stable } = inputs;
  return {
    namespace: policy.metadata.namespace!,
    policy: policy.metadata.name!,
    fleet: manifest(fleet),
    model: manifest(model),
    ...(stable ? { stable } : {}),
    candidateVersion: candidateVersion(policy, model, run),
    dataWindowMs: parseDuration(policy.spec.training.dataWindow),
    metric: policy.spec.evaluation.metric,
    bucket: MODELS_BUCKET,
  };
}

export function desiredJob(inputs: JobInputs): V1Job {
  const { policy, fleet, run, trigger, image } = inputs;
  const template = structuredClone(policy.spec.training.template ?? {});
  // The CRD keeps the template opaque: one that only sets scheduling has no containers.
  const pod: V1PodSpec = { ...template.spec, containers: template.spec?.containers ?? [] };
  const given = pod.containers.find((c) => c.name === TRAINER_CONTAINER);
  // The stable is read as the runtime reads it: the model's artifact CA where the runtime config says.
  const secrets = new SecretMounts().nats(fleet).artifactCa(inputs.model);
  const resources = quantities(policy.spec.training.resources);
  const request = trainingRequest(inputs);
  const trainer: V1Container = {
    ...given,
    name: TRAINER_CONTAINER,
    image: policy.spec.training.image ?? given?.image ?? image,
    ...(given?.command ? {} : { command: ['prognos-trainer'], args: ['job', ...(given?.args ?? [])] }),
    env: [
      ...(given?.env ?? []).filter((e) => e.name !== TRAINING_REQUEST_ENV && e.name !== 'TMPDIR'),
      { name: TRAINING_REQUEST_ENV, value: JSON.stringify(request) },
      { name: 'TMPDIR', value: SCRATCH },
    ],
    ...(resources ? { resources } : {}),
    terminationMessagePolicy: 'FallbackToLogsOnError',
    volumeMounts: [
      ...(given?.volumeMounts ?? []),
      { name: 'scratch', mountPath: SCRATCH },
      ...secrets.mounts,
    ],
  };
  const name = jobName(policy, run);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace: policy.metadata.namespace!,
      labels: {
        'app.kubernetes.io/name': 'prognos-trainer',
        'app.kubernetes.io/instance': policy.metadata.name!,
        'app.kubernetes.io/component': 'trainer',
        'app.kubernetes.io/managed-by': 'prognos-operator',
        [POLICY_LABEL]: policy.metadata.name!,
      },
      annotations: { [TRIGGER_ANNOTATION]: trigger, [CANDIDATE_ANNOTATION]: request.candidateVersion },
      ownerReferences: [
        {
          apiVersion: API_VERSION,
          kind: RETRAIN_POLICY_KIND,
          name: policy.metadata.name!,
          uid: policy.metadata.uid!,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      backoffLimit: policy.spec.training.backoffLimit,
      activeDeadlineSeconds: Math.ceil(parseDuration(policy.spec.training.timeout) / 1000),
      template: {
        metadata: {
          ...template.metadata,
          labels: { ...template.metadata?.labels, [POLICY_LABEL]: policy.metadata.name! },
        },
        spec: {
          ...pod,
          restartPolicy: 'Never',
          automountServiceAccountToken: pod.automountServiceAccountToken ?? false,
          containers: [trainer, ...pod.containers.filter((c) => c !== given)],
          volumes: [...(pod.volumes ?? []), { name: 'scratch', emptyDir: {} }, ...secrets.volumes],
        },
      },
    },
  };
}
