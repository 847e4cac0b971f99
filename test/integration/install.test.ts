import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { V1Deployment, V1PodDisruptionBudget, V1Service } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { ensureBinaries, repoRoot } from '../cluster/binaries.ts';
import { kubectl } from './env.ts';
import { waitEstablished } from './operatorHarness.ts';
import { manifests, rbacObjects, renderChart, renderKustomize } from './rbacManifests.ts';

// The two ways users install Prognos — the Helm chart and `kubectl apply -k config/default` — must
// render objects the real API server accepts.
const run = promisify(execFile);
const namespace = 'prognos-install-test';

async function serverDryRun(manifests: string): Promise<void> {
  // Other suites may have installed the CRDs already; a forced dry run takes no ownership.
  const args = [
    'apply',
    '--server-side',
    '--force-conflicts',
    '--field-manager=install-test',
    '--dry-run=server',
    '-f',
    '-',
  ];
  const res = await kubectl(args, { input: manifests });
  expect(res.stderr, res.stderr).toBe('');
  expect(res.code).toBe(0);
}

function kinds(manifests: string): string[] {
  return parseAllDocuments(manifests)
    .map((d) => d.toJS() as { kind?: string } | null)
    .filter((o): o is { kind: string } => Boolean(o?.kind))
    .map((o) => o.kind)
    .sort();
}

/** The operator container's NODE_OPTIONS in rendered manifests. */
function operatorNodeOptions(manifests: string): string | undefined {
  const deployment = parseAllDocuments(manifests)
    .map((d) => d.toJS() as V1Deployment | null)
    .find((o) => o?.kind === 'Deployment');
  const container = deployment?.spec?.template.spec?.containers.find((c) => c.name === 'operator');
  return container?.env?.find((e) => e.name === 'NODE_OPTIONS')?.value;
}

describe('installation manifests', () => {
  let helm: string;
  beforeAll(async () => {
    helm = (await ensureBinaries()).helm;
    await kubectl(['create', 'namespace', namespace]);
    // A server-side dry run cannot create the namespace its other objects live in.
    await kubectl(['create', 'namespace', 'prognos-system']);
    await kubectl(['create', 'namespace', 'plant-a']);
  });

  it('helm lint passes on the chart', async () => {
    const { stdout } = await run(helm, ['lint', join(repoRoot, 'charts/prognos')]);
    expect(stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
  });

  it('the chart renders objects the API server accepts, CRDs included', async () => {
    const { stdout } = await run(helm, [
      'template',
      'prognos',
      join(repoRoot, 'charts/prognos'),
      '--namespace',
      namespace,
      '--include-crds',
      '--kube-version',
      '1.36.3',
      '--set',
      'watchNamespace=plant-a',
    ]);
    // Watching one namespace: the operator's rules are a Role there; cluster-scoped only the CRD read.
    expect(kinds(stdout)).toEqual([
      'ClusterRole',
      'ClusterRoleBinding',
      'CustomResourceDefinition',
      'CustomResourceDefinition',
      'CustomResourceDefinition',
      'Deployment',
      'PodDisruptionBudget',
      'Role',
      'Role',
      'RoleBinding',
      'RoleBinding',
      'Service',
      'ServiceAccount',
    ]);
    expect(stdout).toContain('--namespace=plant-a');
    // Every object names its namespace (the Role lives in plant-a, the rest in the release's).
    await serverDryRun(stdout);
  });

  it("the Argo CD Applications: accepted by Argo CD's real CRD, their paths and chart values valid", async () => {
    const { argocdApplicationCrd } = await ensureBinaries();
    const crd = await kubectl(['apply', '--server-side', '--force-conflicts', '-f', argocdApplicationCrd]);
    expect(crd.code, crd.stderr).toBe(0);
    await waitEstablished('crd/applications.argoproj.io');
    await kubectl(['create', 'namespace', 'argocd']);
    const text = await readFile(join(repoRoot, 'deploy/argocd/applications.yaml'), 'utf8');
    await serverDryRun(text);

    interface App {
      metadata: { name: string; annotations: Record<string, string> };
      spec: { source: { path: string; helm?: { skipCrds?: boolean; valuesObject?: unknown } } };
    }
    const apps = parseAllDocuments(text).map((d) => d.toJS() as App);
    // CRDs first, then the operator, then the objects it reconciles.
    expect(
      apps.map((a) => [a.metadata.name, a.metadata.annotations['argocd.argoproj.io/sync-wave']]),
    ).toEqual([
      ['prognos-crds', '-1'],
      ['prognos', '0'],
      ['prognos-fleets', '1'],
    ]);
    for (const app of apps)
      expect(existsSync(join(repoRoot, app.spec.source.path)), app.spec.source.path).toBe(true);
    // The chart's values.schema.json accepts the Application's values, and its CRDs are left out.
    const chart = apps.find((a) => a.metadata.name === 'prognos')!.spec.source;
    expect(chart.helm?.skipCrds).toBe(true);
    const values = join(await mkdtemp(join(tmpdir(), 'prognos-argocd-')), 'values.yaml');
    await writeFile(values, stringify(chart.helm?.valuesObject));
    const { stdout } = await run(helm, [
      'template',
      'prognos',
      join(repoRoot, chart.path),
      '--kube-version',
      '1.36.3',
      '--values',
      values,
    ]);
    expect(stdout).toContain('image: registry.example.com/platform/prognos:0.1.0');
    expect(kinds(stdout)).not.toContain('CustomResourceDefinition');
  });

  it('config/default (kustomize) renders objects the API server accepts', async () => {
    const res = await kubectl(['kustomize', join(repoRoot, 'config/default')]);
    expect(res.code, res.stderr).toBe(0);
    expect(kinds(res.stdout)).toContain('Deployment');
    expect(kinds(res.stdout).filter((k) => k === 'CustomResourceDefinition')).toHaveLength(3);
    await serverDryRun(res.stdout);
  });

  it('config/namespaced (kustomize) renders objects the API server accepts', async () => {
    const res = await kubectl(['kustomize', join(repoRoot, 'config/namespaced')]);
    expect(res.code, res.stderr).toBe(0);
    expect(kinds(res.stdout)).toContain('Role');
    await serverDryRun(res.stdout);
  });

  it('both install the operator with the same Node.js flags (the small young generation)', async () => {
    const chart = await run(helm, [
      'template',
      'prognos',
      join(repoRoot, 'charts/prognos'),
      '--kube-version',
      '1.36.3',
    ]);
    const kustomize = await kubectl(['kustomize', join(repoRoot, 'config/default')]);
    expect(operatorNodeOptions(chart.stdout)).toBe('--max-semi-space-size=2');
    expect(operatorNodeOptions(kustomize.stdout)).toBe(operatorNodeOptions(chart.stdout));
  });
});

// config/default and config/namespaced install release "prognos" into prognos-system.
const RELEASE = 'prognos';
const SYSTEM = 'prognos-system';

/** kind/namespace/name of every object, sorted; the Namespace is kustomize's alone (Helm's -n creates it). */
function identities(yaml: string): string[] {
  return manifests(yaml)
    .filter((o) => o.kind !== 'Namespace')
    .map((o) => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`)
    .sort();
}

/**
 * What the operator's pod runs with, as both installs must agree on it. Labels differ (the chart
 * adds its release's), so the anti-affinity is compared by shape and checked to select its own pods.
 */
function operatorRuntime(yaml: string) {
  const objects = manifests(yaml);
  const deployment = objects.find((o) => o.kind === 'Deployment') as V1Deployment;
  const pod = deployment.spec!.template;
  const podLabels = pod.metadata!.labels!;
  const selects = (labels: Record<string, string> | undefined) =>
    Object.entries(labels ?? {}).every(([k, v]) => podLabels[k] === v);
  const c = pod.spec!.containers.find((x) => x.name === 'operator')!;
  const antiAffinity =
    pod.spec!.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.map((t) => ({
      weight: t.weight,
      topologyKey: t.podAffinityTerm.topologyKey,
      selectsOwnPods: selects(t.podAffinityTerm.labelSelector?.matchLabels),
    }));
  const service = objects.find((o) => o.kind === 'Service') as V1Service;
  const pdb = objects.find((o) => o.kind === 'PodDisruptionBudget') as V1PodDisruptionBudget;
  return {
    replicas: deployment.spec!.replicas,
    serviceAccountName: pod.spec!.serviceAccountName,
    terminationGracePeriodSeconds: pod.spec!.terminationGracePeriodSeconds,
    podSecurityContext: pod.spec!.securityContext,
    antiAffinity,
    container: {
      image: c.image,
      imagePullPolicy: c.imagePullPolicy,
      command: c.command,
      args: c.args,
      env: c.env,
      ports: c.ports,
      readinessProbe: c.readinessProbe,
      livenessProbe: c.livenessProbe,
      resources: c.resources,
      securityContext: c.securityContext,
    },
    metricsService: { ports: service.spec!.ports, selectsOwnPods: selects(service.spec!.selector) },
    disruptionBudget: {
      maxUnavailable: pdb.spec!.maxUnavailable,
      selectsOwnPods: selects(pdb.spec!.selector!.matchLabels),
    },
  };
}

describe("the chart's defaults and kustomize install the same operator", () => {
  it('cluster-wide (config/default): the same objects, RBAC and operator pod', async () => {
    const chart = await renderChart(RELEASE, SYSTEM);
    const withCrds = await run((await ensureBinaries()).helm, [
      'template',
      RELEASE,
      join(repoRoot, 'charts/prognos'),
      '-n',
      SYSTEM,
      '--include-crds',
      '--kube-version',
      '1.36.3',
    ]);
    const kustomize = await renderKustomize('default');
    expect(identities(withCrds.stdout)).toEqual(identities(kustomize));
    expect(identities(kustomize)).toEqual([
      'ClusterRole//prognos-operator',
      'ClusterRole//prognos-operator-crds',
      'ClusterRoleBinding//prognos-operator',
      'ClusterRoleBinding//prognos-operator-crds',
      'CustomResourceDefinition//maintenancemodels.prognos.dev',
      'CustomResourceDefinition//retrainpolicies.prognos.dev',
      'CustomResourceDefinition//sensorfleets.prognos.dev',
      'Deployment/prognos-system/prognos-operator',
      'PodDisruptionBudget/prognos-system/prognos-operator',
      'Role/prognos-system/prognos-leader-election',
      'RoleBinding/prognos-system/prognos-leader-election',
      'Service/prognos-system/prognos-operator-metrics',
      'ServiceAccount/prognos-system/prognos-operator',
    ]);
    expect(rbacObjects(chart)).toEqual(rbacObjects(kustomize));
    const runtime = operatorRuntime(chart);
    expect(runtime).toEqual(operatorRuntime(kustomize));
    // Guard against both drifting the same way from what docs/operator.md and the hardening require.
    expect(runtime.replicas).toBe(2);
    expect(runtime.container.args).toEqual([
      '--leader-elect',
      '--metrics-port=8080',
      '--inference-image=ghcr.io/prognos/prognos:0.1.0',
    ]);
    expect(runtime.podSecurityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(runtime.container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(runtime.antiAffinity).toEqual([
      { weight: 100, topologyKey: 'kubernetes.io/hostname', selectsOwnPods: true },
    ]);
    expect(runtime.metricsService.selectsOwnPods && runtime.disruptionBudget.selectsOwnPods).toBe(true);
  });

  it('one namespace (watchNamespace, config/namespaced): the same objects and operator pod', async () => {
    const chart = await renderChart(RELEASE, SYSTEM, { watchNamespace: SYSTEM });
    const kustomize = await renderKustomize('namespaced');
    expect(identities(chart)).toEqual(
      identities(kustomize).filter((i) => !i.startsWith('CustomResourceDefinition/')),
    );
    expect(identities(chart)).toContain('Role/prognos-system/prognos-operator');
    const runtime = operatorRuntime(chart);
    expect(runtime).toEqual(operatorRuntime(kustomize));
    expect(runtime.container.args).toContain(`--namespace=${SYSTEM}`);
  });
});
