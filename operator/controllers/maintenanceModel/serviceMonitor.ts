import type { KubernetesObject } from '@kubernetes/client-node';
import type { MaintenanceModel } from '../../api/maintenanceModel.ts';
import type { Predicate } from '../../framework/predicates.ts';
import { childMeta, selectorLabels } from './objectMeta.ts';

export const SERVICE_MONITOR = {
  apiVersion: 'monitoring.coreos.com/v1',
  kind: 'ServiceMonitor',
  plural: 'servicemonitors',
} as const;

/** The prometheus-operator CRD whose presence decides whether models get a ServiceMonitor. */
export const SERVICE_MONITOR_CRD = 'servicemonitors.monitoring.coreos.com';

interface CrdShape {
  spec?: { versions?: { name?: string; served?: boolean }[] };
  status?: { conditions?: { type?: string; status?: string }[] };
}

/** Whether this CustomResourceDefinition (from the watch cache) is Established and serves `version`. */
export function crdServes(crd: KubernetesObject | undefined, version: string): boolean {
  if (!crd || crd.metadata?.deletionTimestamp) return false;
  const { spec, status } = crd as CrdShape;
  const established = status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
  return !!established && !!spec?.versions?.some((v) => v.name === version && v.served === true);
}

export function servesServiceMonitors(crd: KubernetesObject | undefined): boolean {
  return crdServes(crd, 'v1');
}

/** Wakes the models only when the CRD starts or stops serving ServiceMonitors, not on every CRD update. */
export const serviceMonitorsServedChanged: Predicate = (d) =>
  d.type !== 'update' || servesServiceMonitors(d.old) !== servesServiceMonitors(d.obj);

/** Prometheus-operator scrape config for the runtime's /metrics; applied only when the CRD exists. */
export function desiredServiceMonitor(model: MaintenanceModel): KubernetesObject & { spec: unknown } {
  return {
    apiVersion: SERVICE_MONITOR.apiVersion,
    kind: SERVICE_MONITOR.kind,
    metadata: childMeta(model, model.metadata.name!),
    spec: {
      selector: { matchLabels: selectorLabels(model) },
      endpoints: [{ port: 'http', path: '/metrics', interval: '30s' }],
    },
  };
}
