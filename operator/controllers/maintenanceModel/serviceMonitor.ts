import type { KubernetesObject } from '@kubernetes/client-node';
import type { MaintenanceModel } from '../../api/maintenanceModel.ts';
import { childMeta, selectorLabels } from './objectMeta.ts';

export const SERVICE_MONITOR = {
  apiVersion: 'monitoring.coreos.com/v1',
  kind: 'ServiceMonitor',
  plural: 'servicemonitors',
} as const;

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
