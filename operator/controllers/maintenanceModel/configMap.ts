import { createHash } from 'node:crypto';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { MaintenanceModel } from '../../api/maintenanceModel.ts';
import type { RuntimeConfig } from '../../../contracts/runtimeConfig.ts';
import { childMeta, roleChildName, type ChildRole } from './objectMeta.ts';
import { CONFIG_FILE } from './runtimeConfig.ts';

export function configMapName(model: MaintenanceModel, role: ChildRole = 'stable'): string {
  return `${roleChildName(model, role)}-runtime`;
}

export function renderRuntimeConfig(config: RuntimeConfig): string {
  return stringify(config, { lineWidth: 0 });
}

/** Short digest of the rendered config; on the pod template it rolls the pods when the config changes. */
export function configHash(rendered: string): string {
  return createHash('sha256').update(rendered).digest('hex').slice(0, 16);
}

export function desiredConfigMap(
  model: MaintenanceModel,
  rendered: string,
  role: ChildRole = 'stable',
): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: childMeta(model, configMapName(model, role), role),
    data: { [CONFIG_FILE]: rendered },
  };
}
