import type { V1PodTemplateSpec } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { RetrainPolicy } from '../../api/retrainPolicy.ts';
import { TRAINING_REQUEST_ENV } from '../../../contracts/training.ts';
import { fleetFixture, modelFixture } from '../testdata/fixtures.ts';
import { policyFixture } from '../testdata/retrainPolicy.ts';
import { candidateVersion, desiredJob, jobName, trainingRequest, type JobInputs } from './job.ts';

const STABLE = { version: 'v1', uri: 'file:///models/pump-v1.onnx', sha256: 'a'.repeat(64) };

function inputs(patch: (p: RetrainPolicy) => void = () => {}, over: Partial<JobInputs> = {}): JobInputs {
  return {
    policy: policyFixture(patch),
    model: modelFixture(),
    fleet: fleetFixture(),
    run: 4,
    trigger: 'Drift',
    stable: STABLE,
    image: 'ghcr.io/prognos/trainer:1.0.0',
    ...over,
  };
}

const trainerOf = (i: JobInputs) => desiredJob(i).spec!.template.spec!.containers[0]!;

describe('names', () => {
  it("numbers the Job after the policy and the candidate after the model and the policy's uid", () => {
    const i = inputs();
    expect(jobName(i.policy, 4)).toBe('pump-retrain-4');
    expect(candidateVersion(i.policy, i.model, 4)).toBe('pump-failure-rt-4-policy');
    const other = {
      ...i.policy,
      metadata: { ...i.policy.metadata, uid: '0b8f7c1e-2f1a-4c1e-9d1a-1234567890ab' },
    };
    expect(candidateVersion(other, i.model, 4)).toBe('pump-failure-rt-4-0b8f7c');
  });
});

describe('trainingRequest', () => {
  it('hands the trainer the manifests without status, the stable, the window and the metric', () => {
    const i = inputs(() => {}, {
      model: modelFixture((m) => {
        m.status = { phase: 'Stable' };
        m.metadata.managedFields = [{ manager: 'prognos-operator' }];
        m.metadata.annotations = { note: 'x' };
      }),
    });
    expect(trainingRequest(i)).toEqual({
      namespace: 'plant-a',
      policy: 'pump-retrain',
      fleet: {
        apiVersion: 'prognos.dev/v1alpha1',
        kind: 'SensorFleet',
        metadata: { name: 'pumps', namespace: 'plant-a', uid: 'fleet-uid', generation: 1 },
        spec: i.fleet.spec,
      },
      model: {
        apiVersion: 'prognos.dev/v1alpha1',
        kind: 'MaintenanceModel',
        metadata: { name: 'pump-failure', namespace: 'plant-a', uid: 'model-uid', generation: 2 },
        spec: i.model.spec,
      },
      stable: STABLE,
      candidateVersion: 'pump-failure-rt-4-policy',
      dataWindowMs: 7 * 86_400_000,
      metric: 'f1',
      bucket: 'prognos-models',
    });
  });

  it('names no stable when nothing serves', () => {
    expect(trainingRequest(inputs(() => {}, { stable: undefined }))).not.toHaveProperty('stable');
  });
});

describe('desiredJob', () => {
  it('builds the default trainer Job, owned by the policy', () => {
    const job = desiredJob(inputs());
    expect(job.metadata).toEqual({
      name: 'pump-retrain-4',
      namespace: 'plant-a',
      labels: {
        'app.kubernetes.io/name': 'prognos-trainer',
        'app.kubernetes.io/instance': 'pump-retrain',
        'app.kubernetes.io/component': 'trainer',
        'app.kubernetes.io/managed-by': 'prognos-operator',
        'prognos.dev/retrain-policy': 'pump-retrain',
      },
      annotations: {
        'prognos.dev/trigger': 'Drift',
        'prognos.dev/candidate-version': 'pump-failure-rt-4-policy',
      },
      ownerReferences: [
        {
          apiVersion: 'prognos.dev/v1alpha1',
          kind: 'RetrainPolicy',
          name: 'pump-retrain',
          uid: 'policy-uid',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    });
    expect(job.spec).toMatchObject({ backoffLimit: 1, activeDeadlineSeconds: 7200 });
    const pod = job.spec!.template;
    expect(pod.metadata).toEqual({ labels: { 'prognos.dev/retrain-policy': 'pump-retrain' } });
    expect(pod.spec).toEqual({
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      containers: [
        {
          name: 'trainer',
          image: 'ghcr.io/prognos/trainer:1.0.0',
          command: ['prognos-trainer'],
          args: ['job'],
          env: [
            { name: TRAINING_REQUEST_ENV, value: JSON.stringify(trainingRequest(inputs())) },
            { name: 'TMPDIR', value: '/scratch' },
          ],
          terminationMessagePolicy: 'FallbackToLogsOnError',
          volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }],
        },
      ],
      volumes: [{ name: 'scratch', emptyDir: {} }],
    });
  });

  it.each([
    ['90s', 90],
    ['1h30m', 5400],
    ['1500ms', 2],
  ])('stops the Job after training.timeout %s (%i s, rounded up)', (timeout, seconds) => {
    const job = desiredJob(inputs((p) => (p.spec.training.timeout = timeout)));
    expect(job.spec!.activeDeadlineSeconds).toBe(seconds);
  });

  it('passes backoffLimit, resources and the trigger through', () => {
    const i = inputs(
      (p) => {
        p.spec.training.backoffLimit = 0;
        p.spec.training.resources = { requests: { cpu: 1, memory: '1Gi' }, limits: { memory: '2Gi' } };
      },
      { trigger: 'Manual' },
    );
    const job = desiredJob(i);
    expect(job.spec!.backoffLimit).toBe(0);
    expect(job.metadata!.annotations!['prognos.dev/trigger']).toBe('Manual');
    expect(trainerOf(i).resources).toEqual({
      requests: { cpu: '1', memory: '1Gi' },
      limits: { memory: '2Gi' },
    });
  });

  it("mounts the fleet's NATS Secrets and the model's artifact CA read-only", () => {
    const i = inputs(() => {}, {
      fleet: fleetFixture((f) => {
        f.spec.nats.credentialsSecretRef = { name: 'nats-creds', key: 'nats.creds' };
        f.spec.nats.tlsSecretRef = { name: 'nats-tls' };
      }),
      model: modelFixture((m) => (m.spec.model.caSecretRef = { name: 'models-ca', key: 'root.pem' })),
    });
    const pod = desiredJob(i).spec!.template.spec!;
    expect(pod.volumes).toEqual([
      { name: 'scratch', emptyDir: {} },
      { name: 'nats-credentials', secret: { secretName: 'nats-creds', defaultMode: 0o440 } },
      { name: 'nats-tls', secret: { secretName: 'nats-tls', defaultMode: 0o440 } },
      {
        name: 'artifact-ca',
        secret: { secretName: 'models-ca', defaultMode: 0o440, items: [{ key: 'root.pem', path: 'ca.crt' }] },
      },
    ]);
    expect(pod.containers[0]!.volumeMounts).toEqual([
      { name: 'scratch', mountPath: '/scratch' },
      { name: 'nats-credentials', mountPath: '/var/run/secrets/prognos/nats', readOnly: true },
      { name: 'nats-tls', mountPath: '/var/run/secrets/prognos/nats-tls', readOnly: true },
      { name: 'artifact-ca', mountPath: '/var/run/secrets/prognos/artifact-ca', readOnly: true },
    ]);
  });

  const template: V1PodTemplateSpec = {
    metadata: { labels: { team: 'reliability' }, annotations: { 'sidecar.istio.io/inject': 'false' } },
    spec: {
      serviceAccountName: 'trainer',
      automountServiceAccountToken: true,
      nodeSelector: { pool: 'gpu' },
      restartPolicy: 'OnFailure',
      containers: [
        { name: 'proxy', image: 'proxy:1' },
        {
          name: 'trainer',
          image: 'my/trainer:2',
          args: ['--verbose'],
          workingDir: '/work',
          env: [
            { name: 'HTTP_PROXY', value: 'http://localhost:3128' },
            { name: TRAINING_REQUEST_ENV, value: 'stale' },
          ],
          volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }],
          resources: { limits: { memory: '8Gi' } },
        },
      ],
      volumes: [{ name: 'scratch', emptyDir: { medium: 'Memory' } }],
    },
  };

  it("merges training.template: the user's trainer keeps its fields, the operator's replace the request", () => {
    const i = inputs((p) => (p.spec.training.template = structuredClone(template)));
    const pod = desiredJob(i).spec!.template;
    expect(pod.metadata).toEqual({
      labels: { team: 'reliability', 'prognos.dev/retrain-policy': 'pump-retrain' },
      annotations: { 'sidecar.istio.io/inject': 'false' },
    });
    expect(pod.spec).toMatchObject({
      serviceAccountName: 'trainer',
      automountServiceAccountToken: true,
      nodeSelector: { pool: 'gpu' },
      // A Job's pod is never restarted in place: retries are backoffLimit's.
      restartPolicy: 'Never',
      volumes: [
        { name: 'scratch', emptyDir: { medium: 'Memory' } },
        { name: 'scratch', emptyDir: {} },
      ],
    });
    // The trainer first, the user's other containers unchanged after it.
    expect(pod.spec!.containers.map((c) => c.name)).toEqual(['trainer', 'proxy']);
    expect(pod.spec!.containers[1]).toEqual({ name: 'proxy', image: 'proxy:1' });
    expect(pod.spec!.containers[0]).toEqual({
      name: 'trainer',
      image: 'my/trainer:2',
      command: ['prognos-trainer'],
      args: ['job', '--verbose'],
      workingDir: '/work',
      env: [
        { name: 'HTTP_PROXY', value: 'http://localhost:3128' },
        { name: TRAINING_REQUEST_ENV, value: JSON.stringify(trainingRequest(i)) },
        { name: 'TMPDIR', value: '/scratch' },
      ],
      resources: { limits: { memory: '8Gi' } },
      terminationMessagePolicy: 'FallbackToLogsOnError',
      volumeMounts: [
        { name: 'scratch', mountPath: '/scratch' },
        { name: 'scratch', mountPath: '/scratch' },
      ],
    });
  });

  it('leaves training.template itself unchanged', () => {
    const i = inputs((p) => (p.spec.training.template = structuredClone(template)));
    desiredJob(i);
    expect(i.policy.spec.training.template).toEqual(template);
  });

  it("keeps a custom trainer's own command and args", () => {
    const i = inputs((p) => {
      p.spec.training.template = {
        spec: { containers: [{ name: 'trainer', command: ['python', '-m', 'train'], args: ['--fast'] }] },
      };
    });
    expect(trainerOf(i)).toMatchObject({
      image: 'ghcr.io/prognos/trainer:1.0.0',
      command: ['python', '-m', 'train'],
      args: ['--fast'],
    });
  });

  it.each([
    [
      'training.image over the template and the default',
      'pinned/trainer:3',
      'my/trainer:2',
      'pinned/trainer:3',
    ],
    ["the template's image over the default", undefined, 'my/trainer:2', 'my/trainer:2'],
    ['the released image by default', undefined, undefined, 'ghcr.io/prognos/trainer:1.0.0'],
  ])('takes %s', (_name, image, templateImage, expected) => {
    const i = inputs((p) => {
      if (image) p.spec.training.image = image;
      p.spec.training.template = {
        spec: { containers: [{ name: 'trainer', ...(templateImage ? { image: templateImage } : {}) }] },
      };
    });
    expect(trainerOf(i).image).toBe(expected);
  });

  it('adds the trainer to a template that only sets scheduling', () => {
    const i = inputs((p) => {
      p.spec.training.template = {
        spec: { nodeSelector: { pool: 'batch' } } as unknown as V1PodTemplateSpec['spec'],
      };
    });
    const pod = desiredJob(i).spec!.template.spec!;
    expect(pod.nodeSelector).toEqual({ pool: 'batch' });
    expect(pod.containers.map((c) => c.name)).toEqual(['trainer']);
  });
});
