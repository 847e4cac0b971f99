import type { V1Service } from '@kubernetes/client-node';
import type { MaintenanceModel } from '../../api/maintenanceModel.ts';
import { childMeta, roleChildName, selectorLabels } from './objectMeta.ts';
import { HTTP_PORT } from './runtimeConfig.ts';
import { GRPC_ROUTE_ANNOTATION } from './traffic/grpcRoute.ts';

/**
 * The gRPC Service of the model's stable pods (plus the metrics port, so a ServiceMonitor can find
 * it). `grpcRoute` is the hash of the GRPCRoute last applied (traffic/grpcRoute.ts), recorded here
 * because the route itself is never read.
 */
export function desiredService(model: MaintenanceModel, grpcRoute?: string): V1Service {
  const metadata = childMeta(model, model.metadata.name!);
  if (grpcRoute) metadata.annotations = { [GRPC_ROUTE_ANNOTATION]: grpcRoute };
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata,
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

/**
 * `<model>-canary`: the gRPC port of the canary's pods, while a canary runs. A GRPCRoute weights it
 * against the stable Service; without one it lets a client call the canary directly.
 */
export function desiredCanaryService(model: MaintenanceModel): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMeta(model, roleChildName(model, 'canary'), 'canary'),
    spec: {
      selector: selectorLabels(model, 'canary'),
      ports: [
        {
          name: 'grpc',
          port: model.spec.serving.grpc.port,
          targetPort: 'grpc',
          protocol: 'TCP',
          appProtocol: 'grpc',
        },
      ],
    },
  };
}

/** In-cluster gRPC address, as reported in status.endpoint. */
export function grpcEndpoint(model: MaintenanceModel): string {
  return `${model.metadata.name}.${model.metadata.namespace}.svc:${model.spec.serving.grpc.port}`;
}
