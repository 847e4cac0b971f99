import type { V1Deployment, V1Probe } from '@kubernetes/client-node';
import type { MaintenanceModel } from '../../api/maintenanceModel.ts';
import type { SensorFleet } from '../../api/sensorFleet.ts';
import { AUTOSCALER_ANNOTATION } from './autoscaler.ts';
import { configMapName } from './configMap.ts';
import { commonLabels, childMeta, roleChildName, selectorLabels, type ChildRole } from './objectMeta.ts';
import { CONFIG_FILE, HTTP_PORT, MOUNTS } from './runtimeConfig.ts';
import { quantities, SecretMounts } from '../podParts.ts';

export const DEFAULT_INFERENCE_IMAGE = 'ghcr.io/prognos/prognos:0.1.0';
export const CONFIG_HASH_ANNOTATION = 'prognos.dev/config-hash';

export interface DeploymentInputs {
  model: MaintenanceModel;
  fleet: SensorFleet;
  image: string;
  /** configHash() of the rendered runtime config: a change rolls the pods. */
  configHash: string;
  /** Version actually served (the last verified one), for the pod label. */
  version: string;
  /** The autoscaler that owns the replica count, if any: autoscalerAnnotation() of what was applied. */
  autoscaler?: string | undefined;
  /** Default stable. A canary runs the new version at the stable's size (its autoscaler minimum). */
  role?: ChildRole;
}

/**
 * The runtime's /healthz already waits out its own limits (config `liveness`, which the operator
 * leaves at DEFAULT_LIVENESS: worker silent 30 s, or a batch unanswered 60 s) before it fails, so
 * the probe looks more often than the shorter limit and only rides out a slow answer: a stuck worker
 * is restarted about 30 s after /healthz starts failing. /healthz reports "starting" (live) while
 * the process connects to NATS and loads its first model; the initial delay only covers Node's boot.
 */
export const LIVENESS_PROBE: V1Probe = {
  httpGet: { path: '/healthz', port: 'http' },
  initialDelaySeconds: 10,
  periodSeconds: 10,
  timeoutSeconds: 2,
  failureThreshold: 3,
};

/** Long enough for the runtime to drain NATS and ack its last batch before SIGKILL. */
const TERMINATION_GRACE_SECONDS = 30;

function secretVolumes({ model, fleet }: DeploymentInputs): SecretMounts {
  const secrets = new SecretMounts().nats(fleet);
  if (model.spec.serving.grpc.tlsSecretRef)
    secrets.add('grpc-tls', model.spec.serving.grpc.tlsSecretRef.name, MOUNTS.grpcTls);
  secrets.artifactCa(model);
  const jwks = model.spec.serving.grpc.auth?.jwt.jwksSecretRef;
  // A Secret volume (not subPath) so the kubelet updates the file in place when the keys rotate.
  if (jwks) secrets.add('grpc-jwks', jwks.name, MOUNTS.grpcJwks);
  // Optional: a Secret created after the model does not hold its pods back (the operator renders
  // the Alertmanager section only once the Secret is usable); in place, so rotations apply.
  const am = model.spec.alerting?.alertmanager.secretRef;
  if (am) secrets.add('alertmanager', am.name, MOUNTS.alertmanager, undefined, true);
  return secrets;
}

/**
 * The stable runtime Deployment. Rolling update with maxUnavailable 0: a new version's pod must be
 * ready before an old one stops, so the stable never scales down before its replacement serves.
 */
export function desiredDeployment(inputs: DeploymentInputs): V1Deployment {
  const { model, image, configHash, version } = inputs;
  const role = inputs.role ?? 'stable';
  const replicas =
    role === 'stable'
      ? model.spec.serving.replicas
      : (model.spec.serving.autoscaling?.minReplicas ?? model.spec.serving.replicas);
  const secrets = secretVolumes(inputs);
  const resources = quantities(model.spec.serving.resources);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      ...childMeta(model, roleChildName(model, role), role),
      ...(inputs.autoscaler ? { annotations: { [AUTOSCALER_ANNOTATION]: inputs.autoscaler } } : {}),
    },
    spec: {
      // Under an autoscaler the operator does not apply replicas (server-side apply: not its field).
      ...(inputs.autoscaler ? {} : { replicas }),
      selector: { matchLabels: selectorLabels(model, role) },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: {
          labels: { ...commonLabels(model, role), 'prognos.dev/version': version },
          annotations: { [CONFIG_HASH_ANNOTATION]: configHash },
        },
        spec: {
          terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
          automountServiceAccountToken: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            runAsGroup: 1000,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'inference',
              image,
              command: ['prognos-inference'],
              args: ['--config', `${MOUNTS.config}/${CONFIG_FILE}`],
              env: [
                { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              ],
              ports: [
                { name: 'grpc', containerPort: model.spec.serving.grpc.port, protocol: 'TCP' },
                { name: 'http', containerPort: HTTP_PORT, protocol: 'TCP' },
              ],
              ...(resources ? { resources } : {}),
              readinessProbe: {
                httpGet: { path: '/readyz', port: 'http' },
                periodSeconds: 2,
                failureThreshold: 3,
              },
              livenessProbe: LIVENESS_PROBE,
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                runAsNonRoot: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [{ name: 'config', mountPath: MOUNTS.config, readOnly: true }, ...secrets.mounts],
            },
          ],
          volumes: [{ name: 'config', configMap: { name: configMapName(model, role) } }, ...secrets.volumes],
        },
      },
    },
  };
}
