// The chart as an SRE uses it, with the real helm against the local cluster: `helm install` starts two
// operator pods (run by the pod runner) that elect one leader and run a fleet and a model under the
// chart's own ServiceAccount and RBAC; `helm upgrade` with changed values rolls them and drops the
// PodDisruptionBudget; `helm uninstall` leaves nothing behind but the CRDs and the Lease.
// Namespaced mode (watchNamespace = the release namespace), so the operator never sees other files'
// objects.
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBinaries, repoRoot } from '../cluster/binaries.ts';
import { kubectl, testEnv } from './env.ts';
import {
  applyObject,
  createNamespace,
  deleteNamespace,
  eventually,
  fleetManifest,
  getJson,
  modelManifest,
  ok,
  tempDir,
  waitCondition,
  writeModel,
} from './operatorHarness.ts';

const run = promisify(execFile);
const release = `helm-it-${Math.random().toString(36).slice(2, 7)}`;
const operatorPods = `app.kubernetes.io/instance=${release},app.kubernetes.io/component=operator`;
let ns: string;
let dir: string;
let helmBin: string;

function helm(args: string[]): Promise<{ stdout: string; stderr: string }> {
  // Helm's own config and cache in the test's directory, not the user's home.
  const env = {
    ...process.env,
    KUBECONFIG: testEnv().kubeconfig,
    HELM_CACHE_HOME: join(dir, 'helm/cache'),
    HELM_CONFIG_HOME: join(dir, 'helm/config'),
    HELM_DATA_HOME: join(dir, 'helm/data'),
  };
  return run(helmBin, [...args, '--namespace', ns], { env, maxBuffer: 16 * 1024 * 1024, timeout: 300_000 });
}

interface PodJson {
  metadata: { name: string; labels: Record<string, string> };
  status: { podIP?: string; phase?: string; conditions?: { type: string; status: string }[] };
}

async function allOperatorPods(): Promise<PodJson[]> {
  const out = await ok(['get', 'pods', '-n', ns, '-l', operatorPods, '-o', 'json']);
  return (JSON.parse(out) as { items: PodJson[] }).items;
}

async function readyOperatorPods(): Promise<PodJson[]> {
  return (await allOperatorPods()).filter((p) =>
    p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
  );
}

/** The pod of a Lease holder: the operator's identity is `<POD_NAME>_<pid>`. */
const podOf = (holder: string | undefined): string | undefined => holder?.replace(/_\d+$/, '');

/** What an operator pod wrote (the pod runner keeps each container's output). */
function operatorLog(pod: string): string {
  return readFileSync(join(testEnv().stateDir, 'pods', `${ns}_${pod}`, 'operator.log'), 'utf8');
}

describe('helm install, upgrade and uninstall on the local cluster', () => {
  beforeAll(async () => {
    helmBin = (await ensureBinaries()).helm;
    ns = await createNamespace('prognos-helm');
    dir = tempDir();
  });
  afterAll(async () => {
    await deleteNamespace(ns);
    rmSync(dir, { recursive: true, force: true });
  });

  it('install: two operator pods, one leader, a fleet and a model Ready under the chart identity', async () => {
    await helm([
      'install',
      release,
      join(repoRoot, 'charts/prognos'),
      '--set',
      `watchNamespace=${ns}`,
      '--wait',
      '--timeout',
      '180s',
    ]);
    const pods = await eventually('two ready operator pods', async () => {
      const ready = await readyOperatorPods();
      return ready.length === 2 ? ready : undefined;
    });
    expect(new Set(pods.map((p) => p.status.podIP)).size).toBe(2);
    await eventually('the Lease held by an operator pod', async () => {
      const l = await getJson(ns, 'lease/prognos-operator');
      return pods.some((p) => p.metadata.name === podOf(l?.spec?.holderIdentity)) ? l : undefined;
    });

    // Each pod serves /metrics on its own IP: the leader reports 1, the standby 0.
    const leading = await Promise.all(
      pods.map(async (p) => {
        const text = await (await fetch(`http://${p.status.podIP}:8080/metrics`)).text();
        expect(text).toContain('controller_runtime_reconcile_total');
        return /leader_election_master_status\{name="prognos-operator"\} 1/.test(text);
      }),
    );
    expect(leading.filter(Boolean)).toHaveLength(1);

    const model = writeModel(dir, 'v1.onnx', 11);
    await applyObject(fleetManifest(ns, 'pumps'));
    await applyObject(modelManifest(ns, 'pump-failure', 'pumps', { version: 'v1', ...model }));
    await waitCondition(ns, 'sensorfleet/pumps', 'Ready', 'True', 'StreamsReady');
    await waitCondition(ns, 'maintenancemodel/pump-failure', 'Ready', 'True', 'Serving', 120_000);
    // The chart's ServiceAccount did it: the operator pods run as it (in-cluster config from the
    // projected token), and none of their requests was forbidden.
    const deployment = await getJson(ns, `deployment/${release}-operator`);
    expect(deployment.spec.template.spec.serviceAccountName).toBe(`${release}-operator`);
    for (const p of pods) expect(operatorLog(p.metadata.name)).not.toMatch(/forbidden|\b403\b/i);
  });

  it('upgrade with changed values: one replica with the new label, no PDB, still reconciling', async () => {
    await helm([
      'upgrade',
      release,
      join(repoRoot, 'charts/prognos'),
      '--reuse-values',
      '--set',
      'replicaCount=1',
      '--set',
      'podLabels.tier=control-plane',
      '--wait',
      '--timeout',
      '180s',
    ]);
    const [pod] = await eventually('one ready operator pod with the new label', async () => {
      const ready = await readyOperatorPods();
      const all = await allOperatorPods();
      if (ready.length === 1 && all.length === 1 && ready[0]!.metadata.labels.tier === 'control-plane')
        return ready;
      // Thrown, not returned: a timeout then says what the pods looked like.
      throw new Error(
        all
          .map((p) => `${p.metadata.name} ${p.status.phase} ${JSON.stringify(p.metadata.labels)}`)
          .join('; '),
      );
    });
    expect((await kubectl(['get', 'pdb', `${release}-operator`, '-n', ns])).stderr).toContain('NotFound');
    // The new pod leads and repairs what the model owns.
    await eventually(
      'the new pod holds the Lease',
      async () =>
        podOf((await getJson(ns, 'lease/prognos-operator'))?.spec?.holderIdentity) === pod!.metadata.name,
      60_000,
    );
    await ok(['delete', 'service', 'pump-failure', '-n', ns]);
    await eventually('the model Service put back', async () => getJson(ns, 'service/pump-failure'), 60_000);
    await waitCondition(ns, 'maintenancemodel/pump-failure', 'Ready', 'True', 'Serving', 120_000);
  });

  it('uninstall: nothing of the release is left but the CRDs and the Lease', async () => {
    // The operator removes its finalizers while it still runs.
    await ok(['delete', 'maintenancemodel/pump-failure', 'sensorfleet/pumps', '-n', ns, '--timeout=60s']);
    await helm(['uninstall', release, '--wait', '--timeout', '120s']);
    await eventually('the operator pods gone', async () => (await allOperatorPods()).length === 0, 60_000);
    // The namespace's own ServiceAccount and CA bundle, and the Lease every leader-elected operator
    // leaves, go with the namespace. The model's children go with the garbage
    // collector, in the background.
    const kinds =
      'deployments,replicasets,pods,services,serviceaccounts,configmaps,secrets,roles,rolebindings,poddisruptionbudgets,leases';
    const expected = ['lease.coordination.k8s.io/prognos-operator'];
    const left = async () =>
      (await ok(['get', kinds, '-n', ns, '-o', 'name']))
        .split('\n')
        .filter((n) => n && !['serviceaccount/default', 'configmap/kube-root-ca.crt'].includes(n))
        .sort();
    await eventually('only the Lease left in the namespace', async () => {
      const names = await left();
      if (names.join() === expected.join()) return names;
      throw new Error(names.join(', '));
    });
    // Helm deletes the leader-election Role with the Deployment, so the last leader's release on
    // SIGTERM is forbidden and the Lease keeps its holder; it lapses 9 s after the last renewal, so
    // a later install leads at once.
    expect((await getJson(ns, 'lease/prognos-operator')).spec.leaseDurationSeconds).toBeLessThanOrEqual(9);
    const clusterScoped = await ok([
      'get',
      'clusterroles,clusterrolebindings',
      '-l',
      `app.kubernetes.io/instance=${release}`,
      '-o',
      'name',
    ]);
    expect(clusterScoped.trim()).toBe('');
    // Helm never deletes what crds/ installed: fleets and models elsewhere keep their data.
    for (const crd of [
      'sensorfleets.prognos.dev',
      'maintenancemodels.prognos.dev',
      'retrainpolicies.prognos.dev',
    ])
      expect(await ok(['get', 'crd', crd, '-o', 'name'])).toContain(crd);
  });
});
