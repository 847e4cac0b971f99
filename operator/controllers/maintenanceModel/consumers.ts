// A model's JetStream consumers, owned by the operator: one per partition of the fleet's stream
// (contracts/consumers.ts), created before the runtimes bind them, updated where JetStream allows,
// and deleted with the model (its finalizer) or when the partition count drops. The stable role's
// are the partitions' cursors, which a canary shares; a shadow reads every reading a second time
// and has its own, starting at the newest reading, for as long as it runs.
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstreamManager,
  ReplayPolicy,
  type ConsumerConfig,
  type ConsumerInfo,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { MaintenanceModel } from '../../api/maintenanceModel.ts';
import type { SensorFleet } from '../../api/sensorFleet.ts';
import type { Fence } from '../../framework/fence.ts';
import {
  consumerName,
  MODEL_METADATA_KEY,
  OWNER_GROUP,
  PIN_TIMEOUT_MS,
  ROLE_METADATA_KEY,
} from '../../../contracts/consumers.ts';
import { DEFAULT_ACK_WAIT_MS } from '../../../contracts/runtimeConfig.ts';
import { storedSubject } from '../sensorFleet/desiredStreams.ts';

const MS = 1_000_000; // JetStream durations are nanoseconds
const STABLE: ConsumerRole = 'stable';
const PINNED = 'pinned_client';

export interface DesiredConsumer {
  name: string;
  config: ConsumerConfig & { durable_name: string };
}

/** `<namespace>/<name>`: what a consumer's metadata says it belongs to. */
export function modelKey(model: MaintenanceModel): string {
  return `${model.metadata.namespace}/${model.metadata.name}`;
}

function deliverPolicy(startFrom: string): Pick<ConsumerConfig, 'deliver_policy' | 'opt_start_time'> {
  if (startFrom === 'All') return { deliver_policy: DeliverPolicy.All };
  if (startFrom === 'New') return { deliver_policy: DeliverPolicy.New };
  return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(startFrom).toISOString() };
}

/** A role's consumer names, in partition order (what the runtimes bind; the stable's are what KEDA reads). */
export function roleConsumerNames(
  model: MaintenanceModel,
  fleet: SensorFleet,
  role: ConsumerRole = STABLE,
): string[] {
  const partitions = fleet.spec.stream.partitions;
  return Array.from({ length: partitions }, (_, p) =>
    consumerName(model.metadata.name!, role, p, partitions),
  );
}

/** Roles with consumers of their own: the canary binds the stable's. */
export type ConsumerRole = 'stable' | 'shadow';

/** One pinned_client consumer per partition, filtered on that partition's stored subject. */
export function desiredConsumers(
  model: MaintenanceModel,
  fleet: SensorFleet,
  maxInFlight: number,
  role: ConsumerRole = STABLE,
): DesiredConsumer[] {
  const partitions = fleet.spec.stream.partitions;
  const subject = storedSubject(fleet);
  return roleConsumerNames(model, fleet, role).map((durable, p) => ({
    name: durable,
    config: {
      durable_name: durable,
      description: `Readings of partition ${p} for MaintenanceModel ${modelKey(model)}${role === STABLE ? '' : ` (${role})`} (managed by prognos)`,
      ack_policy: AckPolicy.Explicit,
      replay_policy: ReplayPolicy.Instant,
      // A shadow compares with the stable from the moment it starts.
      ...deliverPolicy(role === STABLE ? model.spec.serving.startFrom : 'New'),
      // A partitioned stream stores `<subject>.<partition>`: the last token is the partition.
      filter_subject: partitions > 1 ? `${subject.slice(0, -1)}${p}` : subject,
      ack_wait: DEFAULT_ACK_WAIT_MS * MS,
      max_ack_pending: Math.max(maxInFlight * 4, 1000),
      priority_groups: [OWNER_GROUP],
      priority_policy: PINNED,
      priority_timeout: PIN_TIMEOUT_MS * MS,
      metadata: { [MODEL_METADATA_KEY]: modelKey(model), [ROLE_METADATA_KEY]: role },
    },
  }));
}

/** What differs between the desired and the live config, among the fields an update may change. */
export function consumerDrift(want: ConsumerConfig, live: ConsumerConfig): string[] {
  const fields = [
    'filter_subject',
    'ack_wait',
    'max_ack_pending',
    'priority_timeout',
    'description',
  ] as const;
  const drift: string[] = fields.filter((f) => want[f] !== live[f]);
  if (want.metadata?.[MODEL_METADATA_KEY] !== live.metadata?.[MODEL_METADATA_KEY]) drift.push('metadata');
  return drift;
}

async function infoOrUndefined(
  jsm: Awaited<ReturnType<typeof jetstreamManager>>,
  stream: string,
  name: string,
): Promise<ConsumerInfo | undefined> {
  try {
    return await jsm.consumers.info(stream, name);
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound)
      return undefined;
    throw error;
  }
}

/** A consumer JetStream will not turn into what we need in place (no pinned priority group). */
export class ConsumerImmutableError extends Error {
  override readonly name = 'ConsumerImmutableError';
}

/**
 * Creates the missing consumers (their start position is read only then: a version change continues
 * where the previous one stopped), updates drifted ones and deletes this model's consumers of
 * partitions that no longer exist. A consumer with the name but without the pinned priority group
 * (made by a runtime of an earlier release) is replaced, continuing after its acknowledged floor.
 */
export async function ensureConsumers(
  nc: NatsConnection,
  stream: string,
  model: MaintenanceModel,
  desired: DesiredConsumer[],
  fence: Fence,
): Promise<{ created: string[]; updated: string[]; deleted: string[] }> {
  const jsm = await jetstreamManager(nc);
  const created: string[] = [];
  const updated: string[] = [];
  for (const want of desired) {
    const live = await infoOrUndefined(jsm, stream, want.name);
    if (!live) {
      fence.check();
      await jsm.consumers.add(stream, want.config);
      created.push(want.name);
      continue;
    }
    if (live.config.priority_policy !== PINNED) {
      // Continue from the first reading it had not acknowledged.
      fence.check();
      await jsm.consumers.delete(stream, want.name);
      const config: ConsumerConfig = {
        ...want.config,
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: live.ack_floor.stream_seq + 1,
      };
      delete config.opt_start_time;
      await jsm.consumers.add(stream, config);
      updated.push(want.name);
      continue;
    }
    if (consumerDrift(want.config, live.config).length === 0) continue;
    fence.check();
    await jsm.consumers.update(stream, want.name, {
      filter_subject: want.config.filter_subject,
      ack_wait: want.config.ack_wait,
      max_ack_pending: want.config.max_ack_pending,
      priority_timeout: want.config.priority_timeout,
      description: want.config.description,
      metadata: want.config.metadata,
    });
    updated.push(want.name);
  }
  const keep = new Set(desired.map((d) => d.name));
  const deleted = await deleteModelConsumers(nc, stream, model, fence, (name) => !keep.has(name));
  return { created, updated, deleted };
}

/** Deletes the model's consumers on `stream` (those its metadata names; `which` narrows it). */
export async function deleteModelConsumers(
  nc: NatsConnection,
  stream: string,
  model: MaintenanceModel,
  fence: Fence,
  which: (name: string) => boolean = () => true,
): Promise<string[]> {
  const jsm = await jetstreamManager(nc);
  const key = modelKey(model);
  const legacy = consumerName(model.metadata.name!, STABLE, 0, 1);
  const deleted: string[] = [];
  let infos: ConsumerInfo[];
  try {
    infos = await jsm.consumers.list(stream).next();
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) return [];
    throw error;
  }
  for (const info of infos) {
    const ours =
      info.config.metadata?.[MODEL_METADATA_KEY] === key ||
      // A runtime of an earlier release created this one, without metadata.
      (info.name === legacy && info.config.metadata?.[MODEL_METADATA_KEY] === undefined);
    if (!ours || !which(info.name)) continue;
    fence.check();
    await jsm.consumers.delete(stream, info.name);
    deleted.push(info.name);
  }
  return deleted;
}
