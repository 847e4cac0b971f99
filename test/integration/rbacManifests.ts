// The RBAC objects the two installs render — the Helm chart (with the real helm) and the kustomize
// bases (with the real `kubectl kustomize`) — reduced to what grants rights: kind, name, namespace,
// rules, roleRef and subjects.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { ensureBinaries, repoRoot } from '../cluster/binaries.ts';

const run = promisify(execFile);

export interface Rule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
}

export interface RbacObject {
  kind: 'ClusterRole' | 'Role' | 'ClusterRoleBinding' | 'RoleBinding';
  name: string;
  namespace?: string;
  rules?: Rule[];
  roleRef?: { kind: string; name: string };
  subjects?: { kind: string; name: string; namespace?: string }[];
}

const RBAC_KINDS = new Set(['ClusterRole', 'Role', 'ClusterRoleBinding', 'RoleBinding']);

interface Manifest {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  rules?: Rule[];
  roleRef?: { kind: string; name: string };
  subjects?: { kind: string; name: string; namespace?: string }[];
}

export function manifests(yaml: string): Manifest[] {
  return parseAllDocuments(yaml)
    .map((d) => d.toJS() as Manifest | null)
    .filter((o): o is Manifest => Boolean(o?.kind));
}

/** The RBAC objects of rendered manifests, in a stable order. */
export function rbacObjects(yaml: string): RbacObject[] {
  return manifests(yaml)
    .filter((o) => RBAC_KINDS.has(o.kind!))
    .map((o) => ({
      kind: o.kind as RbacObject['kind'],
      name: o.metadata?.name ?? '',
      ...(o.metadata?.namespace ? { namespace: o.metadata.namespace } : {}),
      ...(o.rules ? { rules: o.rules } : {}),
      ...(o.roleRef ? { roleRef: { kind: o.roleRef.kind, name: o.roleRef.name } } : {}),
      ...(o.subjects ? { subjects: o.subjects } : {}),
    }))
    .sort((a, b) => `${a.kind}/${a.namespace}/${a.name}`.localeCompare(`${b.kind}/${b.namespace}/${b.name}`));
}

/** `helm template <release> charts/prognos -n <namespace> --set ...` with the real helm. */
export async function renderChart(
  release: string,
  namespace: string,
  values: Record<string, string> = {},
): Promise<string> {
  const { helm } = await ensureBinaries();
  const set = Object.entries(values).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
  const { stdout } = await run(
    helm,
    [
      'template',
      release,
      join(repoRoot, 'charts/prognos'),
      '--namespace',
      namespace,
      '--kube-version',
      '1.36.3',
      ...set,
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  return stdout;
}

/** `kubectl kustomize config/<dir>` with the real kubectl. */
export async function renderKustomize(dir: string): Promise<string> {
  const { kubectl } = await ensureBinaries();
  const { stdout } = await run(kubectl, ['kustomize', join(repoRoot, 'config', dir)], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

/** The operator container's args in rendered manifests. */
export function operatorArgs(yaml: string): string[] {
  const deployment = manifests(yaml).find((o) => o.kind === 'Deployment') as
    { spec?: { template?: { spec?: { containers?: { name: string; args?: string[] }[] } } } } | undefined;
  return deployment?.spec?.template?.spec?.containers?.find((c) => c.name === 'operator')?.args ?? [];
}
