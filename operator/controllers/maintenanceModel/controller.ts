import type {
  V1ConfigMap,
  V1Deployment,
  V2HorizontalPodAutoscaler,
  V1PodDisruptionBudget,
  V1Secret,
  V1Service,
} from '@kubernetes/client-node';
import type { MaintenanceModel } from '../../api/maintenanceModel.ts';
import type { SensorFleet } from '../../api/sensorFleet.ts';
import type { RetrainPolicy } from '../../api/retrainPolicy.ts';
import { Controller } from '../../framework/controller.ts';
import { objectKey } from '../../framework/gvk.ts';
import {
  fieldsChanged,
  generationChanged,
  or,
  ownedMetadataChanged,
  type Predicate,
} from '../../framework/predicates.ts';
import { SECRET, watchSpecs } from '../kinds.ts';
import type { ModelFleetIndex } from './modelFleetIndex.ts';
import type { MaintenanceModelReconciler } from './reconciler.ts';
import { SCALED_OBJECT_CRD, scaledObjectsServedChanged } from './autoscaler.ts';
import { SERVICE_MONITOR_CRD, serviceMonitorsServedChanged } from './serviceMonitor.ts';
import { GRPC_ROUTE_CRD, grpcRoutesServedChanged } from './traffic/grpcRoute.ts';

/** The Deployment fields the model's status and rollout read (see deploymentState). */
export const deploymentChanged: Predicate = or(
  generationChanged,
  ownedMetadataChanged,
  fieldsChanged(
    'status.observedGeneration',
    'status.replicas',
    'status.updatedReplicas',
    'status.readyReplicas',
    'status.availableReplicas',
  ),
);

export interface ModelControllerOptions {
  /** Watch one namespace; undefined watches all. */
  namespace?: string | undefined;
  /** Reconciles at once (the framework's default when undefined). */
  concurrency?: number | undefined;
  /**
   * Watch the prometheus-operator CRD (cluster-scoped, read by name) and give models a ServiceMonitor
   * while it serves one. Default true; false reads nothing cluster-scoped and applies no ServiceMonitor.
   */
  serviceMonitors?: boolean | undefined;
  /**
   * Watch KEDA's ScaledObject CRD (cluster-scoped, read by name): autoscaling models get a ScaledObject
   * on consumer lag while it serves one, a HorizontalPodAutoscaler otherwise. Default true; false reads
   * nothing cluster-scoped for it and always uses a HorizontalPodAutoscaler.
   */
  keda?: boolean | undefined;
  /**
   * Watch the Gateway API's GRPCRoute CRD (cluster-scoped, read by name): models with
   * serving.grpcRoute get a GRPCRoute, weighted by the canary during a rollout, while it serves one.
   * Default true; false reads nothing cluster-scoped for it and applies no GRPCRoute.
   */
  gatewayApi?: boolean | undefined;
}

/**
 * MaintenanceModel → runtime ConfigMap, Deployment, Service, PDB (owned: edits and deletions are
 * repaired), a ServiceMonitor while the prometheus-operator CRD serves one, and a GRPCRoute when asked
 * while the Gateway API's serves one; reconciled again when its SensorFleet changes or one of those
 * CRDs starts or stops serving.
 */
export function maintenanceModelController(
  reconciler: MaintenanceModelReconciler,
  index: ModelFleetIndex,
  options: ModelControllerOptions = {},
): Controller<MaintenanceModel> {
  const kinds = watchSpecs(options.namespace);
  const serviceMonitors = options.serviceMonitors ?? true;
  const keda = options.keda ?? true;
  const gatewayApi = options.gatewayApi ?? true;
  const controller = new Controller<MaintenanceModel>('maintenancemodel', {
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
    reconcile: (ctx) =>
      reconciler.reconcile(
        ctx.request.key,
        ctx.object,
        {
          fleet: (ns, name) => ctx.cached<SensorFleet>(kinds.sensorFleet, objectKey(ns, name)),
          configMap: (ns, name) => ctx.cached<V1ConfigMap>(kinds.configMap, objectKey(ns, name)),
          deployment: (ns, name) => ctx.cached<V1Deployment>(kinds.deployment, objectKey(ns, name)),
          service: (ns, name) => ctx.cached<V1Service>(kinds.service, objectKey(ns, name)),
          podDisruptionBudget: (ns, name) =>
            ctx.cached<V1PodDisruptionBudget>(kinds.podDisruptionBudget, objectKey(ns, name)),
          horizontalPodAutoscaler: (ns, name) =>
            ctx.cached<V2HorizontalPodAutoscaler>(kinds.horizontalPodAutoscaler, objectKey(ns, name)),
          scaledObjectCrd: () => (keda ? ctx.cached(kinds.scaledObjectCrd, SCALED_OBJECT_CRD) : undefined),
          grpcRouteCrd: () => (gatewayApi ? ctx.cached(kinds.grpcRouteCrd, GRPC_ROUTE_CRD) : undefined),
          gatewayApi,
          secret: (ns, name) => ctx.readReferenced<V1Secret>(SECRET, ns, name),
          serviceMonitorCrd: () =>
            serviceMonitors ? ctx.cached(kinds.serviceMonitorCrd, SERVICE_MONITOR_CRD) : undefined,
          policies: (ns) =>
            ctx.cachedList<RetrainPolicy>(kinds.retrainPolicy).filter((p) => p.metadata.namespace === ns),
        },
        ctx,
      ),
  })
    .for(kinds.maintenanceModel)
    .owns(kinds.configMap)
    // Deployment and PDB status churn (conditions, ProgressDeadlineExceeded, PDB counters) wakes the
    // model only when the model's status reads it; spec, metadata and deletions always do (drift).
    .owns({ ...kinds.deployment, predicate: deploymentChanged })
    .owns(kinds.service)
    .owns({ ...kinds.podDisruptionBudget, predicate: or(generationChanged, ownedMetadataChanged) })
    .owns({ ...kinds.horizontalPodAutoscaler, predicate: or(generationChanged, ownedMetadataChanged) })
    .watches(kinds.sensorFleet, (fleet) =>
      index.modelsOf(fleet.metadata?.namespace ?? '', fleet.metadata?.name ?? ''),
    )
    // A policy's candidates (status) are what an Auto promotion rolls out.
    .watches(kinds.retrainPolicy, (policy) => {
      const model = (policy as RetrainPolicy).spec?.modelRef?.name;
      return model ? [objectKey(policy.metadata?.namespace, model)] : [];
    });
  // The prometheus-operator CRD appearing (or going) reconciles every model: ServiceMonitors follow.
  if (serviceMonitors)
    controller.watches({ ...kinds.serviceMonitorCrd, predicate: serviceMonitorsServedChanged }, () =>
      index.all(),
    );
  // KEDA being installed (or removed) moves autoscaling models between a ScaledObject and an HPA.
  if (keda)
    controller.watches({ ...kinds.scaledObjectCrd, predicate: scaledObjectsServedChanged }, () =>
      index.all(),
    );
  // The Gateway API being installed (or removed) gives (or takes) the asking models their GRPCRoute.
  if (gatewayApi)
    controller.watches({ ...kinds.grpcRouteCrd, predicate: grpcRoutesServedChanged }, () => index.all());
  return controller;
}
