import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { MaintenanceModel } from '../../../api/maintenanceModel.ts';
import type { Fence } from '../../../framework/fence.ts';
import type { Split } from '../../../../contracts/split.ts';

export const ROLLOUTS_BUCKET = 'prognos-rollouts';

export function splitKey(model: MaintenanceModel): string {
  return `${model.metadata.namespace}.${model.metadata.name}`;
}

/**
 * The split for stable-only serving. While a new version rolls over the Deployment, old and new pods
 * both run as stable; a split naming either version would make the other skip its readings (runtimes
 * match stable by version). So during the roll there is no split (null: every stable pod handles every
 * machine) and once all replicas run one version, the split names it with no canary (weight 0).
 */
export function desiredSplit(servedVersion: string | undefined, rolledOut: boolean): Split | null {
  if (servedVersion === undefined || !rolledOut) return null;
  return { stable: { version: servedVersion } };
}

async function bucket(nc: NatsConnection): Promise<KV> {
  // create binds to an existing bucket; history lets an operator see the last few splits.
  return new Kvm(nc).create(ROLLOUTS_BUCKET, { history: 5 });
}

/** Writes the split only when it differs from the stored one, so a steady model costs no KV writes. */
export async function writeSplit(
  nc: NatsConnection,
  key: string,
  split: Split | null,
  fence: Fence,
): Promise<boolean> {
  fence.check(); // creating the bucket is a write too
  const kv = await bucket(nc);
  const current = await kv.get(key);
  const stored = current && current.operation === 'PUT' ? current.string() : undefined;
  if (split === null) {
    if (stored === undefined) return false;
    fence.check();
    await kv.delete(key);
    return true;
  }
  const next = JSON.stringify(split);
  if (stored === next) return false;
  fence.check();
  await kv.put(key, next);
  return true;
}

/** Removes the model's key for good (finalizer): purge leaves no history for a future model of that name. */
export async function purgeSplit(nc: NatsConnection, key: string, fence: Fence): Promise<void> {
  fence.check();
  const kv = await bucket(nc);
  fence.check();
  await kv.purge(key);
}
