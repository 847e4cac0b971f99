// serving.autoscaling: a KEDA ScaledObject on consumer lag when KEDA serves ScaledObjects and the
// fleet names its NATS monitoring endpoint, else a HorizontalPodAutoscaler on CPU. Either scales the
// stable Deployment, whose spec.replicas the operator then stops applying.
import { createHash } from 'node:crypto';
import type { KubernetesObject, V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import type { MaintenanceModel } from '../../api/maintenanceModel.ts';
import type { SensorFleet } from '../../api/sensorFleet.ts';
import type { Predicate } from '../../framework/predicates.ts';
import { streamName } from '../sensorFleet/desiredStreams.ts';
import { roleConsumerNames } from './consumers.ts';
import { childMeta } from './objectMeta.ts';
import { crdServes } from './serviceMonitor.ts';

export const SCALED_OBJECT = { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject' } as const;
export const HPA = { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler' } as const;

/** The KEDA CRD whose presence decides between a ScaledObject and a HorizontalPodAutoscaler. */
export const SCALED_OBJECT_CRD = 'scaledobjects.keda.sh';

/** On the Deployment: which autoscaler the operator applied last, so it can remove it when that changes. */
export const AUTOSCALER_ANNOTATION = 'prognos.dev/autoscaler';

export type AutoscalerKind = 'ScaledObject' | 'HorizontalPodAutoscaler';

export function servesScaledObjects(crd: KubernetesObject | undefined): boolean {
  return crdServes(crd, 'v1alpha1');
}

export const scaledObjectsServedChanged: Predicate = (d) =>
  d.type !== 'update' || servesScaledObjects(d.old) !== servesScaledObjects(d.obj);

export interface DesiredAutoscaler {
  kind: AutoscalerKind;
  object: KubernetesObject;
  /** maxReplicas was above the partition count and was lowered to it. */
  clamped: boolean;
}

/**
 * The autoscaler for the model, or undefined without serving.autoscaling. KEDA's NATS JetStream
 * scaler reads one consumer per trigger, so there is one trigger per partition; HPA takes the largest
 * of them, so each partition's threshold is targetLag / partitions: evenly spread lag then asks for
 * lag / targetLag replicas, as one consumer would.
 */
export function desiredAutoscaler(
  model: MaintenanceModel,
  fleet: SensorFleet,
  kedaServed: boolean,
): DesiredAutoscaler | undefined {
  const spec = model.spec.serving.autoscaling;
  if (!spec) return undefined;
  const name = model.metadata.name!;
  const partitions = fleet.spec.stream.partitions;
  const maxReplicas = Math.min(spec.maxReplicas, partitions);
  const minReplicas = Math.min(spec.minReplicas, maxReplicas);
  const clamped = maxReplicas < spec.maxReplicas;
  const endpoint = fleet.spec.nats.monitoringEndpoint;
  if (kedaServed && endpoint && model.spec.serving.inputMode === 'jetstream') {
    const lagThreshold = String(Math.max(1, Math.ceil(spec.targetLag / partitions)));
    return {
      kind: 'ScaledObject',
      clamped,
      object: {
        ...SCALED_OBJECT,
        metadata: childMeta(model, name),
        spec: {
          scaleTargetRef: { name },
          minReplicaCount: minReplicas,
          maxReplicaCount: maxReplicas,
          triggers: roleConsumerNames(model, fleet).map((consumer) => ({
            type: 'nats-jetstream',
            metadata: {
              natsServerMonitoringEndpoint: endpoint,
              account: spec.natsAccount,
              stream: streamName(fleet),
              consumer,
              lagThreshold,
            },
          })),
        },
      } as KubernetesObject,
    };
  }
  const hpa: V2HorizontalPodAutoscaler = {
    ...HPA,
    metadata: childMeta(model, name),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
      minReplicas,
      maxReplicas,
      metrics: [
        {
          type: 'Resource',
          resource: {
            name: 'cpu',
            target: { type: 'Utilization', averageUtilization: spec.targetCPUUtilization },
          },
        },
      ],
    },
  };
  return { kind: 'HorizontalPodAutoscaler', clamped, object: hpa };
}

/** What the Deployment's annotation records: the kind and a hash of the object applied. */
export function autoscalerAnnotation(desired: DesiredAutoscaler): string {
  const hash = createHash('sha256').update(JSON.stringify(desired.object)).digest('hex').slice(0, 16);
  return `${desired.kind}/${hash}`;
}
