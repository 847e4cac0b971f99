import { describe, expect, it } from 'vitest';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { MaintenanceModel } from '../../../api/maintenanceModel.ts';
import { modelFixture } from '../../testdata/fixtures.ts';
import type { RolloutPlan } from '../rollout/plan.ts';
import { desiredCanaryService, desiredService } from '../service.ts';
import {
  desiredGrpcRoute,
  GRPC_ROUTE_ANNOTATION,
  grpcRouteAnnotation,
  grpcRouteCondition,
  grpcRoutesServedChanged,
  routedCanaryWeight,
  servesGrpcRoutes,
} from './grpcRoute.ts';

const routed = (m: MaintenanceModel) =>
  (m.spec.serving.grpcRoute = {
    parentRefs: [{ name: 'edge', namespace: 'gateways', sectionName: 'grpc' }],
    hostnames: ['pumps.grpc.example.com'],
  });

const rollout = (weight: number): NonNullable<RolloutPlan['rollout']> => ({
  strategy: 'Canary',
  source: 'Spec',
  target: { version: 'v2', uri: 'file:///v2.onnx', sha256: 'b'.repeat(64) },
  stable: { version: 'v1', uri: 'file:///v1.onnx', sha256: 'a'.repeat(64), inputs: ['vibration'] },
  startedAt: '2026-01-01T00:00:00Z',
  step: 0,
  stepStartedAt: '2026-01-01T00:00:00Z',
  weight,
});

describe('routedCanaryWeight', () => {
  it.each<
    [string, Pick<RolloutPlan, 'rollout' | 'candidate' | 'candidateRole'> | undefined, number | undefined]
  >([
    ['no rollout plan (held, or no fleet)', undefined, undefined],
    ['no rollout', { rollout: undefined, candidate: 'remove', candidateRole: 'canary' }, undefined],
    ['a canary waiting for its pods', { rollout: rollout(0), candidate: 'run', candidateRole: 'canary' }, 0],
    ['a canary step', { rollout: rollout(20), candidate: 'run', candidateRole: 'canary' }, 20],
    ['the last stage (100%)', { rollout: rollout(100), candidate: 'run', candidateRole: 'canary' }, 100],
    ['a shadow run', { rollout: rollout(0), candidate: 'run', candidateRole: 'shadow' }, undefined],
    ["a rollback's drain", { rollout: undefined, candidate: 'drain', candidateRole: 'canary' }, undefined],
  ])('%s → %s', (_what, plan, weight) => {
    expect(routedCanaryWeight(plan)).toBe(weight);
  });
});

describe('desiredGrpcRoute', () => {
  it('none without serving.grpcRoute', () => {
    expect(desiredGrpcRoute(modelFixture(), 20)).toBeUndefined();
  });

  it('attaches to the named Gateways, owned by the model, for its host names', () => {
    const route = desiredGrpcRoute(modelFixture(routed), undefined)!;
    expect(route).toMatchObject({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'GRPCRoute',
      metadata: {
        name: 'pump-failure',
        namespace: 'plant-a',
        labels: { 'app.kubernetes.io/managed-by': 'prognos-operator' },
        ownerReferences: [{ kind: 'MaintenanceModel', uid: 'model-uid', controller: true }],
      },
      spec: {
        parentRefs: [{ name: 'edge', namespace: 'gateways', sectionName: 'grpc' }],
        hostnames: ['pumps.grpc.example.com'],
      },
    });
  });

  it('without host names: the field is left out (every host of the listener)', () => {
    const route = desiredGrpcRoute(
      modelFixture((m) => (m.spec.serving.grpcRoute = { parentRefs: [{ name: 'edge' }] })),
      undefined,
    )!;
    expect(route.spec).not.toHaveProperty('hostnames');
    expect(route.spec.parentRefs).toEqual([{ name: 'edge' }]);
  });

  it.each<[string, number | undefined, { name: string; weight: number }[]]>([
    ['outside a rollout: all stable', undefined, [{ name: 'pump-failure', weight: 100 }]],
    ['a canary with no weight yet: all stable', 0, [{ name: 'pump-failure', weight: 100 }]],
    [
      'a canary at 20%',
      20,
      [
        { name: 'pump-failure', weight: 80 },
        { name: 'pump-failure-canary', weight: 20 },
      ],
    ],
    [
      'a canary at 50%',
      50,
      [
        { name: 'pump-failure', weight: 50 },
        { name: 'pump-failure-canary', weight: 50 },
      ],
    ],
    [
      'the canary holding 100% while the stable rolls',
      100,
      [
        { name: 'pump-failure', weight: 0 },
        { name: 'pump-failure-canary', weight: 100 },
      ],
    ],
  ])('%s', (_what, weight, backends) => {
    const route = desiredGrpcRoute(modelFixture(routed), weight)!;
    expect(route.spec.rules).toEqual([{ backendRefs: backends.map((b) => ({ ...b, port: 50051 })) }]);
  });

  it('the backends use the model gRPC port', () => {
    const route = desiredGrpcRoute(
      modelFixture((m) => {
        routed(m);
        m.spec.serving.grpc.port = 9000;
      }),
      30,
    )!;
    expect(route.spec.rules[0]!.backendRefs.map((b) => b.port)).toEqual([9000, 9000]);
  });

  it('the annotation changes with the weights, not between equal routes', () => {
    const m = modelFixture(routed);
    const at = (w: number | undefined) => grpcRouteAnnotation(desiredGrpcRoute(m, w)!);
    expect(at(20)).toBe(at(20));
    expect(at(20)).not.toBe(at(50));
    expect(at(undefined)).toBe(at(0));
    expect(at(undefined)).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('the Services a route sends to', () => {
  it('the stable Service records the applied route, and nothing without one', () => {
    expect(desiredService(modelFixture(), 'abc').metadata?.annotations).toEqual({
      [GRPC_ROUTE_ANNOTATION]: 'abc',
    });
    expect(desiredService(modelFixture()).metadata?.annotations).toBeUndefined();
  });

  it('the canary Service selects the canary pods on the gRPC port', () => {
    const s = desiredCanaryService(modelFixture());
    expect(s.metadata).toMatchObject({
      name: 'pump-failure-canary',
      labels: { 'prognos.dev/role': 'canary' },
      ownerReferences: [{ uid: 'model-uid' }],
    });
    expect(s.spec).toEqual({
      selector: { 'prognos.dev/model': 'pump-failure', 'prognos.dev/role': 'canary' },
      ports: [{ name: 'grpc', port: 50051, targetPort: 'grpc', protocol: 'TCP', appProtocol: 'grpc' }],
    });
  });
});

describe('grpcRouteCondition', () => {
  const route = desiredGrpcRoute(modelFixture(routed), 20)!;
  it.each([
    [
      'applied',
      { kind: 'applied' as const, route },
      'True',
      'Applied',
      /80% to Service pump-failure, 20% to Service pump-failure-canary/,
    ],
    [
      'disabled by flag',
      { kind: 'disabled' as const },
      'False',
      'GatewayAPIDisabled',
      /--gateway-api=off.*stable pods only/,
    ],
    [
      'CRD missing',
      { kind: 'crdMissing' as const },
      'False',
      'GRPCRouteCRDMissing',
      /grpcroutes\.gateway\.networking\.k8s\.io.*stable pods only/,
    ],
    [
      'discovery pending',
      { kind: 'discoveryPending' as const },
      'Unknown',
      'DiscoveryPending',
      /API discovery/,
    ],
  ])('%s', (_what, outcome, status, reason, message) => {
    const c = grpcRouteCondition(modelFixture(routed), outcome)!;
    expect(c).toMatchObject({ type: 'GRPCRouteApplied', status, reason, observedGeneration: 2 });
    expect(c.message).toMatch(message);
  });

  it('none when the model asks for no route, whatever the cluster has', () => {
    for (const kind of ['notRequested', 'disabled', 'crdMissing'] as const)
      expect(grpcRouteCondition(modelFixture(), { kind })).toBeUndefined();
  });
});

describe('servesGrpcRoutes', () => {
  const crd = (served: boolean, established: boolean, deleting = false): KubernetesObject =>
    ({
      metadata: {
        name: 'grpcroutes.gateway.networking.k8s.io',
        ...(deleting ? { deletionTimestamp: new Date() } : {}),
      },
      spec: { versions: [{ name: 'v1', served }] },
      status: { conditions: [{ type: 'Established', status: established ? 'True' : 'False' }] },
    }) as KubernetesObject;

  it.each([
    ['absent', undefined, false],
    ['established and serving v1', crd(true, true), true],
    ['not established yet', crd(true, false), false],
    ['v1 not served', crd(false, true), false],
    ['being deleted', crd(true, true, true), false],
  ])('%s → %s', (_what, c, want) => {
    expect(servesGrpcRoutes(c)).toBe(want);
  });

  it('wakes the models only when serving starts or stops', () => {
    expect(grpcRoutesServedChanged({ type: 'update', old: crd(true, true), obj: crd(true, true) })).toBe(
      false,
    );
    expect(grpcRoutesServedChanged({ type: 'update', old: crd(true, false), obj: crd(true, true) })).toBe(
      true,
    );
    expect(grpcRoutesServedChanged({ type: 'add', obj: crd(true, true) })).toBe(true);
  });
});
