import { API_VERSION } from '../api/meta.ts';
import { MAINTENANCE_MODEL_KIND } from '../api/maintenanceModel.ts';
import { SENSOR_FLEET_KIND } from '../api/sensorFleet.ts';
import { RETRAIN_POLICY_KIND } from '../api/retrainPolicy.ts';
import type { WatchSpec } from '../framework/controller.ts';
import { SCALED_OBJECT_CRD } from './maintenanceModel/autoscaler.ts';
import { SERVICE_MONITOR_CRD } from './maintenanceModel/serviceMonitor.ts';
import { GRPC_ROUTE_CRD } from './maintenanceModel/traffic/grpcRoute.ts';

/** Secrets a SensorFleet names: read through a watch of each one alone (ReconcileContext.readReferenced). */
export const SECRET = { apiVersion: 'v1', kind: 'Secret' } as const;

/** The kinds the controllers watch, narrowed to one namespace when the operator is namespaced. */
export function watchSpecs(namespace: string | undefined) {
  const ns = namespace ? { namespace } : {};
  // Only the operator's own children are cached: a cluster's other ConfigMaps would cost memory for nothing.
  const owned = { ...ns, labelSelector: 'app.kubernetes.io/managed-by=prognos-operator' };
  return {
    sensorFleet: { apiVersion: API_VERSION, kind: SENSOR_FLEET_KIND, ...ns },
    maintenanceModel: { apiVersion: API_VERSION, kind: MAINTENANCE_MODEL_KIND, ...ns },
    retrainPolicy: { apiVersion: API_VERSION, kind: RETRAIN_POLICY_KIND, ...ns },
    configMap: { apiVersion: 'v1', kind: 'ConfigMap', ...owned },
    service: { apiVersion: 'v1', kind: 'Service', ...owned },
    deployment: { apiVersion: 'apps/v1', kind: 'Deployment', ...owned },
    podDisruptionBudget: { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', ...owned },
    horizontalPodAutoscaler: { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', ...owned },
    job: { apiVersion: 'batch/v1', kind: 'Job', ...owned },
    // Cluster-scoped, and only the one CRD: whether models get a ServiceMonitor follows it live.
    serviceMonitorCrd: {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      fieldSelector: `metadata.name=${SERVICE_MONITOR_CRD}`,
    },
    // Likewise KEDA's: whether autoscaling models get a ScaledObject or a HorizontalPodAutoscaler.
    scaledObjectCrd: {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      fieldSelector: `metadata.name=${SCALED_OBJECT_CRD}`,
    },
    // And the Gateway API's: whether models that ask for a GRPCRoute get one.
    grpcRouteCrd: {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      fieldSelector: `metadata.name=${GRPC_ROUTE_CRD}`,
    },
  } satisfies Record<string, WatchSpec>;
}
