// ServiceMonitors follow the prometheus-operator CRD: none while the cluster lacks it, one owned by
// each model as soon as it is installed (without touching the models), and none attempted once the
// CRD is gone again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrognosOperator } from '../../operator/prognosOperator.ts';
import { kubectl } from './env.ts';
import {
  applyObject,
  createNamespace,
  deleteNamespace,
  eventually,
  fleetManifest,
  getJson,
  installCrds,
  type ModelFile,
  modelManifest,
  ok,
  SERVICE_MONITOR_CRD,
  SERVICE_MONITOR_CRD_NAME as CRD_NAME,
  startOperator,
  tempDir,
  waitCondition,
  waitEstablished,
  writeModel,
} from './operatorHarness.ts';

let ns: string;
let operator: PrognosOperator;
let model: ModelFile;

async function modelErrors(): Promise<number> {
  const m = await operator.operator.metrics.reconcileErrors.get();
  return m.values.find((v) => v.labels.controller === 'maintenancemodel')?.value ?? 0;
}

async function reconciled(name: string): Promise<void> {
  await eventually(`${name} reconciled`, async () => {
    const [mm, dep] = await Promise.all([getJson(ns, `mm/${name}`), getJson(ns, `deployment/${name}`)]);
    return dep !== undefined && mm?.status?.observedGeneration === mm?.metadata.generation;
  });
}

beforeAll(async () => {
  await installCrds();
  // Another suite (or an earlier run on a kept environment) may have left it installed.
  await ok(['delete', 'crd', CRD_NAME, '--ignore-not-found', '--wait=true']);
  ns = await createNamespace('op-smon');
  operator = await startOperator(ns);
  model = writeModel(tempDir(), 'v1.onnx', 51);
  await applyObject(fleetManifest(ns, 'pumps'));
});

afterAll(async () => {
  await operator?.stop();
  await kubectl(['delete', 'crd', CRD_NAME, '--ignore-not-found', '--wait=false']);
  if (ns) await deleteNamespace(ns);
});

describe('ServiceMonitor when the prometheus-operator CRD exists', () => {
  it('none while the cluster does not serve ServiceMonitors', async () => {
    await applyObject(modelManifest(ns, 'pump-failure', 'pumps', { version: 'v1', ...model }));
    await reconciled('pump-failure');
    const r = await kubectl(['get', '-n', ns, 'servicemonitors.monitoring.coreos.com']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/the server doesn't have a resource type/);
    expect(await modelErrors()).toBe(0);
  });

  it('installing the CRD gives every model its ServiceMonitor, owned by the model', async () => {
    const mmBefore = await getJson(ns, 'mm/pump-failure');
    await ok(
      ['apply', '--server-side', '--field-manager=test', '-f', '-'],
      JSON.stringify(SERVICE_MONITOR_CRD),
    );
    await waitEstablished(`crd/${CRD_NAME}`);
    const sm = await eventually(
      'the ServiceMonitor',
      () => getJson(ns, 'servicemonitors.monitoring.coreos.com/pump-failure'),
      20_000,
    );
    expect(sm.metadata.ownerReferences).toEqual([
      expect.objectContaining({
        apiVersion: 'prognos.dev/v1alpha1',
        kind: 'MaintenanceModel',
        name: 'pump-failure',
        uid: mmBefore.metadata.uid,
        controller: true,
      }),
    ]);
    expect(sm.metadata.labels['app.kubernetes.io/managed-by']).toBe('prognos-operator');
    expect(sm.spec.endpoints).toEqual([{ port: 'http', path: '/metrics', interval: '30s' }]);
    // It selects the model's Service, whose port `http` it scrapes.
    const svc = await getJson(ns, 'service/pump-failure');
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels as Record<string, string>))
      expect(svc.metadata.labels[k], k).toBe(v);
    expect(svc.spec.ports.map((p: { name: string }) => p.name)).toContain('http');
    // Nothing about the model changed to get there: the CRD watch woke it.
    expect((await getJson(ns, 'mm/pump-failure')).metadata.generation).toBe(mmBefore.metadata.generation);
    const managers = (
      JSON.parse(
        await ok([
          'get',
          '-n',
          ns,
          'servicemonitors.monitoring.coreos.com/pump-failure',
          '-o',
          'json',
          '--show-managed-fields',
        ]),
      ) as { metadata: { managedFields: { manager: string; operation: string }[] } }
    ).metadata.managedFields.map((f) => `${f.manager}:${f.operation}`);
    expect(managers).toEqual(['prognos-operator:Apply']);

    // A model created now gets one in the same reconcile as its other children.
    await applyObject(modelManifest(ns, 'second', 'pumps', { version: 'v1', ...model }));
    await reconciled('second');
    expect(await getJson(ns, 'servicemonitors.monitoring.coreos.com/second')).toBeDefined();
    expect(await modelErrors()).toBe(0);
  });

  it('once the CRD is removed, models reconcile and stop failing', async () => {
    await ok(['delete', 'crd', CRD_NAME, '--wait=true', '--timeout=60s']);
    await applyObject(modelManifest(ns, 'third', 'pumps', { version: 'v1', ...model }));
    await reconciled('third');
    await waitCondition(ns, 'mm/third', 'ArtifactVerified', 'True');
    // A reconcile already running when the CRD disappears may fail once and be retried (the error
    // counter is cumulative); what matters is that no model keeps failing afterwards.
    const settled = await modelErrors();
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await modelErrors()).toBe(settled);
  });
});
