// serving.autoscaling with KEDA's real ScaledObject CRD installed (copied from its Go module by
// build-binaries.sh): a ScaledObject with one NATS JetStream trigger per partition, capped at the
// partition count (with a Warning Event); without the fleet's monitoring endpoint, a CPU
// HorizontalPodAutoscaler instead, the ScaledObject removed; without autoscaling, neither, and the
// operator applies replicas again. While an autoscaler scales, the operator's field manager does not
// own the Deployment's spec.replicas.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrognosOperator } from '../../operator/prognosOperator.ts';
import { testEnv } from './env.ts';
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
  startOperator,
  tempDir,
  waitEstablished,
  writeModel,
} from './operatorHarness.ts';

let ns: string;
let operator: PrognosOperator;
let model: ModelFile;

const fleet = (monitoring: boolean) =>
  fleetManifest(ns, 'pumps', {
    nats: { url: testEnv().natsUrl, ...(monitoring ? { monitoringEndpoint: 'nats.nats.svc:8222' } : {}) },
    stream: { maxAge: '1h', partitions: 4 },
  });
const scaledModel = (autoscaling: Record<string, unknown> | undefined) =>
  modelManifest(
    ns,
    'pump-failure',
    'pumps',
    { version: 'v1', ...model },
    { serving: { replicas: 2, ...(autoscaling ? { autoscaling } : {}) } },
  );

/** Whether the operator's field manager owns the Deployment's spec.replicas. */
async function operatorOwnsReplicas(): Promise<boolean> {
  const d = JSON.parse(
    await ok(['get', '-n', ns, 'deployment/pump-failure', '-o', 'json', '--show-managed-fields']),
  ) as { metadata: { managedFields: unknown[] } };
  const mine = (d.metadata.managedFields as { manager: string; fieldsV1: { 'f:spec'?: object } }[]).find(
    (f) => f.manager === 'prognos-operator',
  );
  return mine?.fieldsV1['f:spec'] !== undefined && 'f:replicas' in mine.fieldsV1['f:spec'];
}

beforeAll(async () => {
  await installCrds();
  await ok(['apply', '--server-side', '-f', join(testEnv().binDir, 'keda.sh_scaledobjects.yaml')]);
  await waitEstablished('crd/scaledobjects.keda.sh');
  ns = await createNamespace('op-autoscale');
  model = writeModel(tempDir(), 'v1.onnx', 8);
  operator = await startOperator(ns);
  await applyObject(fleet(true));
});

afterAll(async () => {
  await operator?.stop();
  if (ns) await deleteNamespace(ns);
});

describe('serving.autoscaling', () => {
  it('with KEDA: a ScaledObject the real CRD accepts, one trigger per partition, capped at 4 partitions', async () => {
    await applyObject(scaledModel({ minReplicas: 1, maxReplicas: 6, targetLag: 2000 }));
    const so = await eventually('the ScaledObject', () => getJson(ns, 'scaledobject/pump-failure'), 30_000);
    expect(so.spec).toMatchObject({
      scaleTargetRef: { name: 'pump-failure' },
      minReplicaCount: 1,
      maxReplicaCount: 4,
    });
    expect(so.spec.triggers).toHaveLength(4);
    expect(so.spec.triggers[0]).toMatchObject({
      type: 'nats-jetstream',
      metadata: { consumer: 'prognos-pump-failure-stable-p0', lagThreshold: '500', account: '$G' },
    });
    expect(so.metadata.ownerReferences[0]).toMatchObject({ kind: 'MaintenanceModel', controller: true });
    await eventually('the Deployment', () => getJson(ns, 'deployment/pump-failure'), 30_000);
    expect(await operatorOwnsReplicas()).toBe(false);
    await eventually('the AutoscalingClamped Event', async () =>
      (await ok(['get', 'events.events.k8s.io', '-n', ns, '-o', 'jsonpath={.items[*].reason}'])).includes(
        'AutoscalingClamped',
      ),
    );
    expect(await getJson(ns, 'hpa/pump-failure')).toBeUndefined();
  });

  it('without the monitoring endpoint: a CPU HorizontalPodAutoscaler, and the ScaledObject goes', async () => {
    await applyObject(fleet(false));
    const hpa = await eventually('the HPA', () => getJson(ns, 'hpa/pump-failure'), 30_000);
    expect(hpa.spec).toMatchObject({
      scaleTargetRef: { kind: 'Deployment', name: 'pump-failure' },
      minReplicas: 1,
      maxReplicas: 4,
    });
    await eventually(
      'no ScaledObject',
      async () => (await getJson(ns, 'scaledobject/pump-failure')) === undefined,
    );
    expect(await operatorOwnsReplicas()).toBe(false);
  });

  it('an HPA deleted by hand comes back; without autoscaling there is none and replicas are applied again', async () => {
    await ok(['delete', 'hpa/pump-failure', '-n', ns]);
    await eventually('the HPA again', () => getJson(ns, 'hpa/pump-failure'), 30_000);
    await applyObject(scaledModel(undefined));
    await eventually('no HPA', async () => (await getJson(ns, 'hpa/pump-failure')) === undefined, 30_000);
    await eventually('replicas owned again', operatorOwnsReplicas, 30_000);
    expect((await getJson(ns, 'deployment/pump-failure')).spec.replicas).toBe(2);
  });
});
