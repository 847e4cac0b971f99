// The chart and the kustomize bases grant the same rights, in both installs: cluster-wide (chart
// defaults, config/default) and one namespace (chart watchNamespace, config/namespaced). Rendered with
// the real helm and the real `kubectl kustomize`; compared object by object (kind, name, namespace,
// rules, roleRef, subjects).
import { describe, expect, it } from 'vitest';
import { operatorArgs, rbacObjects, renderChart, renderKustomize, type RbacObject } from './rbacManifests.ts';

// The kustomize bases install release "prognos" into prognos-system.
const RELEASE = 'prognos';
const NAMESPACE = 'prognos-system';

const grants = (objects: RbacObject[], resource: string) =>
  objects.filter((o) => o.rules?.some((r) => r.resources?.includes(resource)));

describe('RBAC of the chart and of kustomize', () => {
  it('cluster-wide: the same ClusterRoles, Roles and bindings', async () => {
    const chart = rbacObjects(await renderChart(RELEASE, NAMESPACE));
    const kustomize = rbacObjects(await renderKustomize('default'));
    expect(chart).toEqual(kustomize);
    expect(chart.map((o) => `${o.kind}/${o.name}`)).toEqual([
      'ClusterRole/prognos-operator',
      'ClusterRole/prognos-operator-crds',
      'ClusterRoleBinding/prognos-operator',
      'ClusterRoleBinding/prognos-operator-crds',
      'Role/prognos-leader-election',
      'RoleBinding/prognos-leader-election',
    ]);
  });

  it('one namespace: the same rules as a Role, and nothing cluster-scoped but the three CRDs read', async () => {
    const chartYaml = await renderChart(RELEASE, NAMESPACE, { watchNamespace: NAMESPACE });
    const kustomizeYaml = await renderKustomize('namespaced');
    const chart = rbacObjects(chartYaml);
    expect(chart).toEqual(rbacObjects(kustomizeYaml));

    const clusterScoped = chart.filter((o) => o.kind.startsWith('Cluster'));
    expect(clusterScoped.map((o) => `${o.kind}/${o.name}`)).toEqual([
      'ClusterRole/prognos-operator-crds',
      'ClusterRoleBinding/prognos-operator-crds',
    ]);
    expect(clusterScoped[0]!.rules).toEqual([
      {
        apiGroups: ['apiextensions.k8s.io'],
        resources: ['customresourcedefinitions'],
        resourceNames: [
          'servicemonitors.monitoring.coreos.com',
          'scaledobjects.keda.sh',
          'grpcroutes.gateway.networking.k8s.io',
        ],
        verbs: ['list', 'watch'],
      },
    ]);
    expect(grants(chart, 'secrets')).toEqual([
      expect.objectContaining({ kind: 'Role', name: 'prognos-operator', namespace: NAMESPACE }),
    ]);
    // The namespaced Role holds exactly the cluster-wide ClusterRole's rules.
    const clusterWide = rbacObjects(await renderChart(RELEASE, NAMESPACE));
    const role = chart.find((o) => o.kind === 'Role' && o.name === 'prognos-operator');
    const clusterRole = clusterWide.find((o) => o.kind === 'ClusterRole' && o.name === 'prognos-operator');
    expect(role?.rules).toEqual(clusterRole?.rules);
    expect(operatorArgs(chartYaml)).toContain(`--namespace=${NAMESPACE}`);
    expect(operatorArgs(kustomizeYaml)).toContain(`--namespace=${NAMESPACE}`);
  });

  it('serviceMonitors=false keda=false gatewayApi=false: nothing cluster-scoped at all, no ServiceMonitor, ScaledObject or GRPCRoute rights', async () => {
    const yaml = await renderChart(RELEASE, NAMESPACE, {
      watchNamespace: 'plant-a',
      serviceMonitors: 'false',
      keda: 'false',
      gatewayApi: 'false',
    });
    const objects = rbacObjects(yaml);
    expect(objects.filter((o) => o.kind.startsWith('Cluster'))).toEqual([]);
    expect(grants(objects, 'servicemonitors')).toEqual([]);
    expect(grants(objects, 'scaledobjects')).toEqual([]);
    expect(grants(objects, 'grpcroutes')).toEqual([]);
    expect(grants(objects, 'customresourcedefinitions')).toEqual([]);
    expect(operatorArgs(yaml)).toEqual(
      expect.arrayContaining([
        '--namespace=plant-a',
        '--service-monitors=off',
        '--keda=off',
        '--gateway-api=off',
      ]),
    );
  });

  it('keda=false gatewayApi=false: the one CRD read is the prometheus-operator one', async () => {
    const objects = rbacObjects(
      await renderChart(RELEASE, NAMESPACE, { keda: 'false', gatewayApi: 'false' }),
    );
    const crds = objects.find((o) => o.kind === 'ClusterRole' && o.name === 'prognos-operator-crds');
    expect(crds?.rules?.[0]?.resourceNames).toEqual(['servicemonitors.monitoring.coreos.com']);
    expect(grants(objects, 'scaledobjects')).toEqual([]);
    expect(grants(objects, 'grpcroutes')).toEqual([]);
  });

  it('gatewayApi=false alone: no GRPCRoute rights, its CRD not read, the flag passed', async () => {
    const yaml = await renderChart(RELEASE, NAMESPACE, { gatewayApi: 'false' });
    const objects = rbacObjects(yaml);
    const crds = objects.find((o) => o.kind === 'ClusterRole' && o.name === 'prognos-operator-crds');
    expect(crds?.rules?.[0]?.resourceNames).toEqual([
      'servicemonitors.monitoring.coreos.com',
      'scaledobjects.keda.sh',
    ]);
    expect(grants(objects, 'grpcroutes')).toEqual([]);
    expect(operatorArgs(yaml)).toContain('--gateway-api=off');
  });

  it('grants nothing the code does not use (grpcroutes never read, pods only listed, Jobs never updated, no core events, no secret GET)', async () => {
    const objects = rbacObjects(await renderChart(RELEASE, NAMESPACE));
    const rules = objects.flatMap((o) => o.rules ?? []);
    expect(rules.filter((r) => r.resources?.includes('grpcroutes'))).toEqual([
      {
        apiGroups: ['gateway.networking.k8s.io'],
        resources: ['grpcroutes'],
        verbs: ['create', 'patch', 'delete'],
      },
    ]);
    expect(rules.filter((r) => r.resources?.includes('pods'))).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
    ]);
    expect(rules.filter((r) => r.resources?.includes('jobs'))).toEqual([
      { apiGroups: ['batch'], resources: ['jobs'], verbs: ['list', 'watch', 'create', 'delete'] },
    ]);
    const events = objects.flatMap((o) => o.rules ?? []).filter((r) => r.resources?.includes('events'));
    expect(events).toEqual([
      { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
    ]);
    const secrets = objects.flatMap((o) => o.rules ?? []).filter((r) => r.resources?.includes('secrets'));
    expect(secrets).toEqual([{ apiGroups: [''], resources: ['secrets'], verbs: ['list', 'watch'] }]);
  });
});
