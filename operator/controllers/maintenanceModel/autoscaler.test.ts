import { describe, expect, it } from 'vitest';
import type { MaintenanceModel } from '../../api/maintenanceModel.ts';
import { fleetFixture, modelFixture } from '../testdata/fixtures.ts';
import { AUTOSCALER_ANNOTATION, autoscalerAnnotation, desiredAutoscaler } from './autoscaler.ts';
import { desiredDeployment } from './deployment.ts';

const autoscaling = (m: MaintenanceModel, maxReplicas = 4) =>
  (m.spec.serving.autoscaling = {
    minReplicas: 1,
    maxReplicas,
    targetLag: 1000,
    natsAccount: '$G',
    targetCPUUtilization: 70,
  });
const partitioned = (partitions: number, endpoint?: string) =>
  fleetFixture((f) => {
    f.spec.stream.partitions = partitions;
    if (endpoint) f.spec.nats.monitoringEndpoint = endpoint;
  });

describe('desiredAutoscaler', () => {
  it('none without serving.autoscaling', () => {
    expect(desiredAutoscaler(modelFixture(), partitioned(4, 'nats:8222'), true)).toBeUndefined();
  });

  it('a ScaledObject with one NATS JetStream trigger per partition when KEDA serves and the endpoint is known', () => {
    const d = desiredAutoscaler(modelFixture(autoscaling), partitioned(4, 'nats.nats.svc:8222'), true)!;
    expect(d.kind).toBe('ScaledObject');
    const spec = (d.object as { spec: Record<string, unknown> }).spec;
    expect(spec).toMatchObject({
      scaleTargetRef: { name: 'pump-failure' },
      minReplicaCount: 1,
      maxReplicaCount: 4,
    });
    const triggers = spec['triggers'] as { type: string; metadata: Record<string, string> }[];
    expect(triggers).toHaveLength(4);
    expect(triggers[2]).toEqual({
      type: 'nats-jetstream',
      metadata: {
        natsServerMonitoringEndpoint: 'nats.nats.svc:8222',
        account: '$G',
        stream: 'PROGNOS_PLANT_A_PUMPS',
        consumer: 'prognos-pump-failure-stable-p2',
        lagThreshold: '250', // 1000 per replica over 4 partitions
      },
    });
  });

  it.each([
    ['KEDA is not installed', partitioned(4, 'nats:8222'), false],
    ['the fleet names no monitoring endpoint', partitioned(4), true],
  ])('a CPU HorizontalPodAutoscaler when %s', (_why, fleet, keda) => {
    const d = desiredAutoscaler(modelFixture(autoscaling), fleet, keda)!;
    expect(d.kind).toBe('HorizontalPodAutoscaler');
    expect(d.object).toMatchObject({
      apiVersion: 'autoscaling/v2',
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'pump-failure' },
        minReplicas: 1,
        maxReplicas: 4,
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { averageUtilization: 70 } } }],
      },
    });
  });

  it('stops at the partition count: more replicas would stand by', () => {
    const d = desiredAutoscaler(
      modelFixture((m) => autoscaling(m, 10)),
      partitioned(4),
      false,
    )!;
    expect(d.clamped).toBe(true);
    expect(d.object).toMatchObject({ spec: { maxReplicas: 4 } });
    expect(
      desiredAutoscaler(
        modelFixture((m) => autoscaling(m, 3)),
        partitioned(4),
        false,
      )!.clamped,
    ).toBe(false);
  });

  it('under an autoscaler the Deployment leaves replicas alone and records what was applied', () => {
    const model = modelFixture(autoscaling);
    const d = desiredAutoscaler(model, partitioned(4), false)!;
    const inputs = { model, fleet: partitioned(4), image: 'img', configHash: 'h', version: 'v1' };
    const scaled = desiredDeployment({ ...inputs, autoscaler: autoscalerAnnotation(d) });
    expect(scaled.spec).not.toHaveProperty('replicas');
    expect(scaled.metadata?.annotations?.[AUTOSCALER_ANNOTATION]).toMatch(
      /^HorizontalPodAutoscaler\/[0-9a-f]{16}$/,
    );
    expect(desiredDeployment(inputs).spec?.replicas).toBe(model.spec.serving.replicas);
  });
});
