import {
  JetStreamApiError,
  jetstreamManager,
  type JetStreamManager,
  type StreamInfo,
  type StreamUpdateConfig,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Fence } from '../../framework/fence.ts';
import { FLEET_METADATA_KEY, streamDrift, type DesiredStream } from './desiredStreams.ts';

const STREAM_NOT_FOUND = 10059;

async function infoOrUndefined(jsm: JetStreamManager, name: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(name);
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === STREAM_NOT_FOUND) return undefined;
    throw error;
  }
}

/** A stream exists with another storage type; JetStream cannot convert it in place. */
export class StreamImmutableError extends Error {
  override readonly name = 'StreamImmutableError';
}

/**
 * Creates each stream that is missing and updates each whose managed fields drifted; a stream that
 * matches costs one info call. Returns the infos (for the stored counts in status).
 */
export async function ensureStreams(
  nc: NatsConnection,
  desired: DesiredStream[],
  fence: Fence,
): Promise<StreamInfo[]> {
  const jsm = await jetstreamManager(nc);
  const infos: StreamInfo[] = [];
  for (const want of desired) {
    const current = await infoOrUndefined(jsm, want.name);
    if (!current) {
      fence.check();
      infos.push(await jsm.streams.add(want));
      continue;
    }
    if (current.config.storage !== want.storage) {
      throw new StreamImmutableError(
        `stream ${want.name} uses ${current.config.storage} storage; JetStream cannot change it to ${want.storage} in place`,
      );
    }
    const drift = streamDrift(want, current.config);
    if (drift.length === 0) {
      infos.push(current);
      continue;
    }
    // Retention and storage are fixed at creation; the rest is what an update may change.
    const update: Partial<StreamUpdateConfig> = {
      subjects: want.subjects,
      description: want.description,
      max_age: want.max_age,
      max_bytes: want.max_bytes,
      num_replicas: want.num_replicas,
      discard: want.discard,
      metadata: { ...(current.config.metadata ?? {}), ...want.metadata },
    };
    // Dropping partitioning: an absent transform leaves the server's in place, so clear it explicitly.
    const transform =
      want.subject_transform ?? (current.config.subject_transform ? { src: '', dest: '' } : undefined);
    if (transform) update.subject_transform = transform;
    fence.check();
    infos.push(await jsm.streams.update(want.name, update));
  }
  return infos;
}

/** Deletes the fleet's streams (deletionPolicy Delete), sparing any stream not marked as this fleet's. */
export async function deleteStreams(
  nc: NatsConnection,
  desired: DesiredStream[],
  fence: Fence,
): Promise<string[]> {
  const jsm = await jetstreamManager(nc);
  const deleted: string[] = [];
  for (const want of desired) {
    const current = await infoOrUndefined(jsm, want.name);
    if (!current) continue;
    if (current.config.metadata?.[FLEET_METADATA_KEY] !== want.metadata?.[FLEET_METADATA_KEY]) continue;
    fence.check();
    await jsm.streams.delete(want.name);
    deleted.push(want.name);
  }
  return deleted;
}
