import type { V1Service } from '@kubernetes/client-node';
import type { MaintenanceModel } from '../../api/maintenanceModel.ts';
import { childMeta, selectorLabels } from './objectMeta.ts';
import { HTTP_PORT } from './runtimeConfig.ts';

/** The gRPC Service of the model (plus the metrics port, so a ServiceMonitor can find it). */
export function desiredService(model: MaintenanceModel): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMeta(model, model.metadata.name!),
    spec: {
      selector: selectorLabels(model),
      ports: [
        {
          name: 'grpc',
          port: model.spec.serving.grpc.port,
          targetPort: 'grpc',
          protocol: 'TCP',
          appProtocol: 'grpc',
        },
        { name: 'http', port: HTTP_PORT, targetPort: 'http', protocol: 'TCP' },
      ],
    },
  };
}

/** In-cluster gRPC address, as reported in status.endpoint. */
export function grpcEndpoint(model: MaintenanceModel): string {
  return `${model.metadata.name}.${model.metadata.namespace}.svc:${model.spec.serving.grpc.port}`;
}
