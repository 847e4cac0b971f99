import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { V1Deployment } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ensureBinaries, repoRoot } from '../cluster/binaries.ts';
import { kubectl } from './env.ts';

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
      'Role',
      'Role',
      'RoleBinding',
      'RoleBinding',
      'ServiceAccount',
    ]);
    expect(stdout).toContain('--namespace=plant-a');
    // Every object names its namespace (the Role lives in plant-a, the rest in the release's).
    await serverDryRun(stdout);
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
