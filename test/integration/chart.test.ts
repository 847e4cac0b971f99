// The chart's values, with the real helm: values.schema.json refuses wrong values before anything
// renders, and each switch renders what values.yaml says. The API server accepts a render with every
// option set.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type {
  V1Deployment,
  V1PodDisruptionBudget,
  V1Service,
  V1ServiceAccount,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ensureBinaries, repoRoot } from '../cluster/binaries.ts';
import { kubectl } from './env.ts';
import { manifests } from './rbacManifests.ts';

const run = promisify(execFile);
const namespace = 'prognos-chart-test';
const DIGEST = `sha256:${'ab'.repeat(32)}`;

interface Rendered {
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
}

let helm: string;
let tmp: string;

/** `helm template prognos charts/prognos` with `values` as a values file; stdout, or the error's stderr. */
async function render(values: object): Promise<{ ok: true; yaml: string } | { ok: false; error: string }> {
  const file = join(tmp, 'values.yaml');
  writeFileSync(file, stringify(values));
  const args = ['template', 'prognos', join(repoRoot, 'charts/prognos'), '-n', namespace];
  return run(helm, [...args, '--kube-version', '1.36.3', '-f', file], { maxBuffer: 16 * 1024 * 1024 }).then(
    ({ stdout }) => ({ ok: true as const, yaml: stdout }),
    (e: { stderr: string }) => ({ ok: false as const, error: e.stderr }),
  );
}

async function objects(values: object): Promise<Rendered[]> {
  const res = await render(values);
  if (!res.ok) throw new Error(res.error);
  return manifests(res.yaml) as Rendered[];
}

const find = <T>(objs: Rendered[], kind: string): T | undefined =>
  objs.find((o) => o.kind === kind) as T | undefined;

const operatorPod = (objs: Rendered[]) => find<V1Deployment>(objs, 'Deployment')!.spec!.template.spec!;

describe('chart values', () => {
  beforeAll(async () => {
    helm = (await ensureBinaries()).helm;
    tmp = mkdtempSync(join(tmpdir(), 'prognos-chart-'));
  });
  afterAll(async () => {
    rmSync(tmp, { recursive: true, force: true });
    await kubectl(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
  });

  it.each([
    [{ replicaCount: 0 }, "at '/replicaCount': minimum"],
    [{ replicaCount: '2' }, "at '/replicaCount': got string, want integer"],
    [{ image: { digest: 'sha256:abc' } }, "at '/image/digest'"],
    [{ image: { tag: 'v1:latest' } }, "at '/image/tag'"],
    [{ image: { pullPolicy: 'Sometimes' } }, "at '/image/pullPolicy'"],
    [{ watchNamespace: 'Plant_A' }, "at '/watchNamespace'"],
    [{ serviceMonitors: 'auto' }, "at '/serviceMonitors': got string, want boolean"],
    [{ serviceAccount: { create: false } }, "at '/serviceAccount/name'"],
    [{ rbac: { enabled: false } }, "additional properties 'enabled' not allowed"],
    [{ podAntiAffinity: 'soft' }, "at '/podAntiAffinity'"],
    [{ resources: { limits: { memory: 'lots' } } }, "at '/resources/limits/memory'"],
    [{ tolerations: [{ key: 'a', operator: 'Maybe' }] }, "at '/tolerations/0/operator'"],
    [{ imagePullSecrets: ['regcred'] }, "at '/imagePullSecrets/0': got string, want object"],
    [{ metrics: { port: 99999 } }, "at '/metrics/port': maximum"],
    [{ metrics: { serviceMonitor: { interval: 'often' } } }, "at '/metrics/serviceMonitor/interval'"],
    [
      { prometheusRule: { enabled: true, disabledAlerts: ['FleetNoReadings'] } },
      "at '/prometheusRule/disabledAlerts/0'",
    ],
    [{ replicas: 2 }, "additional properties 'replicas' not allowed"],
  ])('values.schema.json refuses %j', async (values, message) => {
    const res = await render(values);
    expect(res.ok).toBe(false);
    expect(!res.ok && res.error).toContain("values don't meet the specifications of the schema");
    expect(!res.ok && res.error).toContain(message);
  });

  it('an image by digest: the operator and the inference pods it creates run repository@digest', async () => {
    const pod = operatorPod(await objects({ image: { tag: 'ignored', digest: DIGEST } }));
    expect(pod.containers[0]!.image).toBe(`ghcr.io/prognos/prognos@${DIGEST}`);
    expect(pod.containers[0]!.args).toContain(`--inference-image=ghcr.io/prognos/prognos@${DIGEST}`);
    const byTag = operatorPod(
      await objects({ image: { repository: 'registry.local/prognos', tag: '0.2.0' } }),
    );
    expect(byTag.containers[0]!.image).toBe('registry.local/prognos:0.2.0');
    expect(byTag.containers[0]!.args).toContain('--inference-image=registry.local/prognos:0.2.0');
  });

  it('scheduling and security values reach the operator pod', async () => {
    const pod = operatorPod(
      await objects({
        imagePullSecrets: [{ name: 'regcred' }],
        nodeSelector: { 'kubernetes.io/os': 'linux' },
        tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'ops', effect: 'NoSchedule' }],
        priorityClassName: 'system-cluster-critical',
        podSecurityContext: { runAsNonRoot: true, runAsUser: 2000, fsGroup: 2000 },
        securityContext: { readOnlyRootFilesystem: null, runAsUser: 3000 },
        resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '1Gi' } },
      }),
    );
    expect(pod.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    expect(pod.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    expect(pod.tolerations).toEqual([
      { key: 'dedicated', operator: 'Equal', value: 'ops', effect: 'NoSchedule' },
    ]);
    expect(pod.priorityClassName).toBe('system-cluster-critical');
    // Merged into the defaults, as Helm merges maps (a key set to null drops a default).
    expect(pod.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 2000,
      runAsGroup: 1000,
      fsGroup: 2000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.containers[0]!.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      runAsUser: 3000,
    });
    expect(pod.containers[0]!.resources).toEqual({
      requests: { cpu: '250m', memory: '256Mi' },
      limits: { memory: '1Gi' },
    });
  });

  it('pod anti-affinity: preferred by default, required or none on request, replaced by `affinity`', async () => {
    const selector = {
      'app.kubernetes.io/name': 'prognos',
      'app.kubernetes.io/instance': 'prognos',
      'app.kubernetes.io/component': 'operator',
    };
    const preferred = operatorPod(await objects({})).affinity;
    expect(preferred).toEqual({
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          {
            weight: 100,
            podAffinityTerm: {
              topologyKey: 'kubernetes.io/hostname',
              labelSelector: { matchLabels: selector },
            },
          },
        ],
      },
    });
    expect(operatorPod(await objects({ podAntiAffinity: 'required' })).affinity).toEqual({
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [
          { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: selector } },
        ],
      },
    });
    expect(operatorPod(await objects({ podAntiAffinity: 'none' })).affinity).toBeUndefined();
    const own = { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [] } };
    expect(operatorPod(await objects({ affinity: own })).affinity).toEqual(own);
  });

  it('serviceAccount.create=false: no ServiceAccount; the pod and every binding use serviceAccount.name', async () => {
    const objs = await objects({ serviceAccount: { create: false, name: 'platform-operators' } });
    expect(objs.filter((o) => o.kind === 'ServiceAccount')).toEqual([]);
    expect(operatorPod(objs).serviceAccountName).toBe('platform-operators');
    const bindings = objs.filter((o) => o.kind?.endsWith('Binding')) as (Rendered & { subjects: unknown })[];
    expect(bindings).toHaveLength(3);
    for (const b of bindings)
      expect(b.subjects, b.metadata?.name).toEqual([
        { kind: 'ServiceAccount', name: 'platform-operators', namespace },
      ]);

    const created = await objects({
      serviceAccount: { name: 'prognos', annotations: { 'eks.amazonaws.com/role-arn': 'arn:x' } },
    });
    const sa = find<V1ServiceAccount>(created, 'ServiceAccount')!;
    expect(sa.metadata?.name).toBe('prognos');
    expect(sa.metadata?.annotations).toEqual({ 'eks.amazonaws.com/role-arn': 'arn:x' });
    expect(operatorPod(created).serviceAccountName).toBe('prognos');
  });

  it('rbac.create=false: no Role, ClusterRole or binding at all', async () => {
    const objs = await objects({ rbac: { create: false } });
    expect(objs.map((o) => o.kind).filter((k) => k?.includes('Role'))).toEqual([]);
    expect(objs.map((o) => o.kind).sort()).toEqual([
      'Deployment',
      'PodDisruptionBudget',
      'Service',
      'ServiceAccount',
    ]);
  });

  it('a PodDisruptionBudget for two or more replicas only, selecting the operator pods', async () => {
    const objs = await objects({});
    const pdb = find<V1PodDisruptionBudget>(objs, 'PodDisruptionBudget')!;
    expect(pdb.spec).toEqual({
      maxUnavailable: 1,
      selector: { matchLabels: find<V1Deployment>(objs, 'Deployment')!.spec!.selector.matchLabels },
    });
    expect(find(await objects({ replicaCount: 1 }), 'PodDisruptionBudget')).toBeUndefined();
    expect(
      find(await objects({ podDisruptionBudget: { enabled: false } }), 'PodDisruptionBudget'),
    ).toBeUndefined();
  });

  it('the metrics Service selects the operator pods; the ServiceMonitor scrapes its port with your labels', async () => {
    const objs = await objects({
      metrics: {
        port: 9090,
        service: { port: 80 },
        serviceMonitor: { enabled: true, interval: '15s', labels: { release: 'kps' } },
      },
    });
    const deployment = find<V1Deployment>(objs, 'Deployment')!;
    const service = find<V1Service>(objs, 'Service')!;
    expect(service.metadata?.name).toBe('prognos-operator-metrics');
    expect(service.spec?.selector).toEqual(deployment.spec!.template.metadata!.labels);
    expect(service.spec?.ports).toEqual([
      { name: 'http-metrics', port: 80, targetPort: 'http', protocol: 'TCP' },
    ]);
    expect(deployment.spec!.template.spec!.containers[0]!.ports).toEqual([
      { name: 'http', containerPort: 9090 },
    ]);
    expect(deployment.spec!.template.spec!.containers[0]!.args).toContain('--metrics-port=9090');
    const monitor = find<Rendered & { spec: unknown }>(objs, 'ServiceMonitor')!;
    expect(monitor.metadata?.labels?.release).toBe('kps');
    expect(monitor.spec).toEqual({
      selector: { matchLabels: deployment.spec!.selector.matchLabels },
      endpoints: [{ port: 'http-metrics', path: '/metrics', interval: '15s' }],
    });
    // The Service's own labels include the selector, so the ServiceMonitor finds it.
    expect(service.metadata?.labels).toEqual(expect.objectContaining(deployment.spec!.selector.matchLabels));
  });

  it('the API server accepts a render with every option set', async () => {
    await kubectl(['create', 'namespace', namespace]);
    const res = await render({
      image: { digest: DIGEST },
      imagePullSecrets: [{ name: 'regcred' }],
      watchNamespace: namespace,
      serviceAccount: { create: true, name: 'prognos-op', annotations: { a: 'b' } },
      podAntiAffinity: 'required',
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      tolerations: [{ key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' }],
      priorityClassName: 'system-cluster-critical',
      podAnnotations: { 'prognos.dev/test': 'all-options' },
      podLabels: { team: 'reliability' },
      metrics: { port: 9090, service: { port: 80, annotations: { c: 'd' } } },
    });
    expect(res.ok && res.yaml, !res.ok ? res.error : '').toBeTruthy();
    const apply = ['apply', '--server-side', '--field-manager=chart-test', '--dry-run=server', '-f', '-'];
    const dryRun = await kubectl(apply, { input: res.ok ? res.yaml : '' });
    expect(dryRun.stderr, dryRun.stderr).toBe('');
    expect(dryRun.code).toBe(0);
  });
});
