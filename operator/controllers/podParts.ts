/** Pieces both pod builders use: the runtime Deployment's and the training Job's. */
import type { V1KeyToPath, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { ResourceRequirements } from '../api/meta.ts';
import type { MaintenanceModel } from '../api/maintenanceModel.ts';
import type { SensorFleet } from '../api/sensorFleet.ts';
import { ARTIFACT_CA_FILE, MOUNTS } from './maintenanceModel/runtimeConfig.ts';

/** The API accepts integer quantities (`cpu: 1`) as core/v1 does; the client's type wants strings. */
export function quantities(
  resources: ResourceRequirements | undefined,
): { requests?: Record<string, string>; limits?: Record<string, string> } | undefined {
  if (!resources) return undefined;
  const str = (m: Record<string, string | number>) =>
    Object.fromEntries(Object.entries(m).map(([k, v]) => [k, String(v)]));
  return {
    ...(resources.requests ? { requests: str(resources.requests) } : {}),
    ...(resources.limits ? { limits: str(resources.limits) } : {}),
  };
}

/** Secret volumes and their read-only mounts, added together. */
export class SecretMounts {
  readonly volumes: V1Volume[] = [];
  readonly mounts: V1VolumeMount[] = [];

  add(name: string, secretName: string, mountPath: string, items?: V1KeyToPath[], optional = false): this {
    this.volumes.push({
      name,
      secret: {
        secretName,
        defaultMode: 0o440,
        ...(items ? { items } : {}),
        ...(optional ? { optional } : {}),
      },
    });
    this.mounts.push({ name, mountPath, readOnly: true });
    return this;
  }

  /** The fleet's NATS credentials and TLS Secrets, where the runtime config says they are. */
  nats(fleet: SensorFleet): this {
    if (fleet.spec.nats.credentialsSecretRef)
      this.add('nats-credentials', fleet.spec.nats.credentialsSecretRef.name, MOUNTS.natsCredentials);
    if (fleet.spec.nats.tlsSecretRef) this.add('nats-tls', fleet.spec.nats.tlsSecretRef.name, MOUNTS.natsTls);
    return this;
  }

  /** spec.model.caSecretRef's key as the CA file the artifact is read with. */
  artifactCa(model: MaintenanceModel): this {
    const ca = model.spec.model.caSecretRef;
    if (ca) this.add('artifact-ca', ca.name, MOUNTS.artifactCa, [{ key: ca.key, path: ARTIFACT_CA_FILE }]);
    return this;
  }
}
