import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { INTENT_HASH_ANNOTATION, needsApply, withIntentHash } from './needsApply.ts';
import { quantityValue } from './quantity.ts';

const owner = {
  apiVersion: 'prognos.dev/v1alpha1',
  kind: 'MaintenanceModel',
  name: 'm',
  uid: 'u1',
  controller: true,
};

/** What the operator applies. */
const desired = withIntentHash({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'm', namespace: 'ns', labels: { app: 'm' }, ownerReferences: [owner] },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'm' } },
    template: {
      metadata: { labels: { app: 'm' }, annotations: { h: '1' } },
      spec: {
        containers: [
          {
            name: 'inference',
            image: 'img:1',
            command: ['prognos-inference'],
            args: ['--config', '/etc/c.yaml'],
            env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
            ports: [{ name: 'grpc', containerPort: 50051, protocol: 'TCP' }],
            resources: { requests: { cpu: '0.5', memory: '1Gi' } },
            securityContext: { capabilities: { drop: ['ALL'] } },
          },
        ],
        volumes: [{ name: 'config', configMap: { name: 'm-runtime' } }],
      },
    },
  },
} as KubernetesObject);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the table's edits reach deep into plain JSON
type Json = any;

/** The same as the API server returns it: defaults, canonical quantities, other managers' fields. */
function live(): Record<string, Json> {
  const l = structuredClone(desired) as Record<string, Json>;
  delete l.apiVersion; // list items come without apiVersion/kind
  delete l.kind;
  Object.assign(l.metadata, { uid: 'd1', resourceVersion: '7', generation: 3, creationTimestamp: 'x' });
  l.metadata.annotations['deployment.kubernetes.io/revision'] = '1';
  l.spec.progressDeadlineSeconds = 600;
  l.spec.strategy = { type: 'RollingUpdate' };
  const c = l.spec.template.spec.containers[0];
  Object.assign(c, { imagePullPolicy: 'IfNotPresent', terminationMessagePath: '/dev/termination-log' });
  c.env[0].valueFrom.fieldRef.apiVersion = 'v1';
  c.resources.requests.cpu = '500m';
  l.spec.template.spec.volumes[0].configMap.defaultMode = 420;
  l.spec.template.spec.dnsPolicy = 'ClusterFirst';
  l.status = { replicas: 2, readyReplicas: 0, conditions: [{ type: 'Available', status: 'False' }] };
  return l;
}

type Edit = (l: Record<string, Json>) => void;

describe('needsApply (desired ⊆ live)', () => {
  it.each<[string, Edit | undefined, boolean]>([
    ['unchanged (server defaults, canonical quantities, status)', undefined, false],
    ['status changed only', (l) => (l.status.conditions[0].status = 'True'), false],
    [
      'another manager added a container',
      (l) => l.spec.template.spec.containers.push({ name: 'sidecar' }),
      false,
    ],
    ['another manager added a label', (l) => (l.metadata.labels.team = 'x'), false],
    ['replicas edited', (l) => (l.spec.replicas = 5), true],
    ['image edited', (l) => (l.spec.template.spec.containers[0].image = 'img:2'), true],
    ['label edited', (l) => (l.metadata.labels.app = 'other'), true],
    ['label removed', (l) => delete l.metadata.labels.app, true],
    ['intent hash removed', (l) => (l.metadata.annotations[INTENT_HASH_ANNOTATION] = undefined), true],
    ['ownerReference removed', (l) => (l.metadata.ownerReferences = []), true],
    ['owner reference of another uid', (l) => (l.metadata.ownerReferences[0].uid = 'u2'), true],
    ['arg appended (atomic list)', (l) => l.spec.template.spec.containers[0].args.push('-v'), true],
    ['arg edited', (l) => (l.spec.template.spec.containers[0].args[1] = '/tmp/x'), true],
    [
      'capability list edited',
      (l) => (l.spec.template.spec.containers[0].securityContext.capabilities.drop = []),
      true,
    ],
    ['env var removed', (l) => (l.spec.template.spec.containers[0].env = []), true],
    [
      'env value changed',
      (l) => (l.spec.template.spec.containers[0].env[0].valueFrom.fieldRef.fieldPath = 'x'),
      true,
    ],
    ['container renamed', (l) => (l.spec.template.spec.containers[0].name = 'other'), true],
    ['volume removed', (l) => (l.spec.template.spec.volumes = []), true],
    ['quantity changed', (l) => (l.spec.template.spec.containers[0].resources.requests.cpu = '600m'), true],
    [
      'quantity in another unit, same value',
      (l) => (l.spec.template.spec.containers[0].resources.requests.memory = '1024Mi'),
      false,
    ],
    ['template annotation edited', (l) => (l.spec.template.metadata.annotations.h = '2'), true],
    ['being deleted', (l) => (l.metadata.deletionTimestamp = 'now'), true],
  ])('%s → %s', (_name, edit, want) => {
    const l = live();
    edit?.(l);
    expect(needsApply(desired, l as KubernetesObject)).toBe(want);
  });

  it('missing live object → apply', () => {
    expect(needsApply(desired, undefined)).toBe(true);
  });

  it('a changed intent (a field dropped) changes the digest, so the live object no longer contains it', () => {
    const smaller = structuredClone(desired) as Json;
    delete smaller.spec.replicas;
    // desired ⊆ live alone cannot see a dropped field…
    expect(needsApply(smaller as KubernetesObject, live() as KubernetesObject)).toBe(false);
    // …the new digest does.
    expect(needsApply(withIntentHash(smaller as KubernetesObject), live() as KubernetesObject)).toBe(true);
  });

  it('lists of scalars compare whole; maps compare keys only', () => {
    const d = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1' } };
    expect(needsApply(d, { metadata: { name: 'c' }, data: { a: '1', b: '2' } } as KubernetesObject)).toBe(
      false,
    );
    expect(needsApply(d, { metadata: { name: 'c' }, data: { a: '2' } } as KubernetesObject)).toBe(true);
    expect(needsApply(d, { metadata: { name: 'c' } } as KubernetesObject)).toBe(true);
  });

  it.each([
    ['500m', 0.5],
    ['1Gi', 2 ** 30],
    ['1k', 1000],
    ['1e3', 1000],
    [2, 2],
    ['abc', undefined],
    ['1Gix', undefined],
  ])('quantityValue(%s) = %s', (q, v) => {
    expect(quantityValue(q)).toBe(v);
  });
});
