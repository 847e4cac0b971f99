// serving.grpcRoute: a Gateway API GRPCRoute that sends a Gateway's gRPC calls to the model's Service,
// and during a canary to the stable and `<model>-canary` Services by the weight the partitions got,
// so gRPC callers see the versions in the proportion the broker's readings do.
import { createHash } from 'node:crypto';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { MaintenanceModel } from '../../../api/maintenanceModel.ts';
import type { ConditionInput } from '../../../framework/conditions.ts';
import type { Predicate } from '../../../framework/predicates.ts';
import { childMeta, roleChildName } from '../objectMeta.ts';
import type { RolloutPlan } from '../rollout/plan.ts';
import { crdServes } from '../serviceMonitor.ts';

export const GRPC_ROUTE = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GRPCRoute' } as const;

/** The Gateway API CRD whose presence decides whether models that ask for one get a GRPCRoute. */
export const GRPC_ROUTE_CRD = 'grpcroutes.gateway.networking.k8s.io';

/** On the model's Service: a hash of the GRPCRoute the operator applied last (the route is never read). */
export const GRPC_ROUTE_ANNOTATION = 'prognos.dev/grpc-route';

export const GRPC_ROUTE_CONDITION = 'GRPCRouteApplied';

export function servesGrpcRoutes(crd: KubernetesObject | undefined): boolean {
  return crdServes(crd, 'v1');
}

/** Wakes the models only when the CRD starts or stops serving GRPCRoutes, not on every CRD update. */
export const grpcRoutesServedChanged: Predicate = (d) =>
  d.type !== 'update' || servesGrpcRoutes(d.old) !== servesGrpcRoutes(d.obj);

interface BackendRef {
  name: string;
  port: number;
  weight: number;
}

export interface GrpcRoute extends KubernetesObject {
  spec: {
    parentRefs: { name: string; namespace?: string; sectionName?: string; port?: number }[];
    hostnames?: string[];
    rules: { backendRefs: BackendRef[] }[];
  };
}

/**
 * The canary's share of gRPC calls: the weight applied to its partitions (status.canary.weight)
 * while a canary runs, undefined otherwise (a shadow, a rollback's drain, no rollout: all stable).
 */
export function routedCanaryWeight(
  plan: Pick<RolloutPlan, 'rollout' | 'candidate' | 'candidateRole'> | undefined,
): number | undefined {
  if (!plan?.rollout || plan.candidate !== 'run' || plan.candidateRole !== 'canary') return undefined;
  return plan.rollout.weight;
}

/**
 * The model's GRPCRoute, or undefined when serving.grpcRoute is not set. One rule without matches
 * (every method of every service): the stable Service at 100 - w and the canary Service at w. The
 * canary Service is named only once it has weight: it exists from the rollout's start, so a route
 * never points at a Service that is not there yet, and after a rollback it is left at once.
 */
export function desiredGrpcRoute(
  model: MaintenanceModel,
  canaryWeight: number | undefined,
): GrpcRoute | undefined {
  const spec = model.spec.serving.grpcRoute;
  if (!spec) return undefined;
  const port = model.spec.serving.grpc.port;
  const stable = roleChildName(model, 'stable');
  const backendRefs: BackendRef[] =
    canaryWeight !== undefined && canaryWeight > 0
      ? [
          { name: stable, port, weight: 100 - canaryWeight },
          { name: roleChildName(model, 'canary'), port, weight: canaryWeight },
        ]
      : [{ name: stable, port, weight: 100 }];
  return {
    ...GRPC_ROUTE,
    metadata: childMeta(model, model.metadata.name!),
    spec: {
      parentRefs: spec.parentRefs.map((p) => ({ ...p })),
      ...(spec.hostnames ? { hostnames: [...spec.hostnames] } : {}),
      rules: [{ backendRefs }],
    },
  };
}

/** What the Service's annotation records: a hash of the route applied. */
export function grpcRouteAnnotation(route: GrpcRoute): string {
  return createHash('sha256').update(JSON.stringify(route)).digest('hex').slice(0, 16);
}

/** What became of the model's route this reconcile. */
export type GrpcRouteOutcome =
  | { kind: 'applied'; route: GrpcRoute }
  | { kind: 'notRequested' }
  | { kind: 'disabled' }
  | { kind: 'crdMissing' }
  | { kind: 'discoveryPending' };

/** The GRPCRouteApplied condition; undefined (the condition goes) when serving.grpcRoute is not set. */
export function grpcRouteCondition(
  model: MaintenanceModel,
  outcome: GrpcRouteOutcome,
): ConditionInput | undefined {
  if (!model.spec.serving.grpcRoute) return undefined;
  const gen = model.metadata.generation;
  const name = model.metadata.name!;
  const stableOnly = `gRPC reaches the stable pods only, through the Service ${name}`;
  switch (outcome.kind) {
    case 'notRequested':
      return undefined;
    case 'applied': {
      const refs = outcome.route.spec.rules[0]!.backendRefs;
      const split = refs.map((r) => `${r.weight}% to Service ${r.name}`).join(', ');
      return {
        type: GRPC_ROUTE_CONDITION,
        status: 'True',
        reason: 'Applied',
        message: `GRPCRoute ${name} sends ${split}`,
        observedGeneration: gen,
      };
    }
    case 'disabled':
      return {
        type: GRPC_ROUTE_CONDITION,
        status: 'False',
        reason: 'GatewayAPIDisabled',
        message: `serving.grpcRoute is set but the operator runs with --gateway-api=off, so it makes no GRPCRoute; ${stableOnly}`,
        observedGeneration: gen,
      };
    case 'crdMissing':
      return {
        type: GRPC_ROUTE_CONDITION,
        status: 'False',
        reason: 'GRPCRouteCRDMissing',
        message: `serving.grpcRoute is set but the cluster does not serve GRPCRoute (gateway.networking.k8s.io/v1, CRD ${GRPC_ROUTE_CRD}); install the Gateway API CRDs; until then ${stableOnly}`,
        observedGeneration: gen,
      };
    case 'discoveryPending':
      return {
        type: GRPC_ROUTE_CONDITION,
        status: 'Unknown',
        reason: 'DiscoveryPending',
        message: `the GRPCRoute CRD is established but not yet served by API discovery; retrying`,
        observedGeneration: gen,
      };
  }
}
