import type { StreamConfig } from '@nats-io/jetstream';
import { parseDuration } from '../../api/duration.ts';
import type { SensorFleet } from '../../api/sensorFleet.ts';
import { deadLetterSubject } from '../../../contracts/subjects.ts';

/** The stream fields the operator decides; everything else keeps the server's defaults. */
export type DesiredStream = Pick<
  StreamConfig,
  | 'name'
  | 'subjects'
  | 'retention'
  | 'storage'
  | 'discard'
  | 'max_age'
  | 'max_bytes'
  | 'num_replicas'
  | 'metadata'
> & { description: string; subject_transform?: { src: string; dest: string } };

/** Metadata key marking a stream as managed for one fleet, so Delete never removes someone else's stream. */
export const FLEET_METADATA_KEY = 'prognos.dev/fleet';

/** `PROGNOS_<NS>_<FLEET>`: stream names may not hold `.`, `*`, `>`, whitespace or path separators. */
export function defaultStreamName(namespace: string, name: string): string {
  return `PROGNOS_${namespace}_${name}`.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
}

export function streamName(fleet: SensorFleet): string {
  return (
    fleet.spec.stream.name ?? defaultStreamName(fleet.metadata.namespace ?? '', fleet.metadata.name ?? '')
  );
}

/** The subject the canonical maintenance labels of a fleet are published on (one token per machine). */
export function canonicalLabelsSubject(namespace: string, fleet: string): string {
  return `prognos.labels.${namespace}.${fleet}.*`;
}

/**
 * Subject mapping that appends a partition token computed from the machine-id token, so every reading
 * of a machine lands in the same partition (a consumer per partition keeps that machine's windows).
 * Appending keeps machineId.subjectToken valid on the stored subject. A subject ending in `>` has no
 * last position to append to: partitioning it is refused rather than silently dropped.
 */
export function partitionTransform(
  subject: string,
  subjectToken: number,
  partitions: number,
): { src: string; dest: string } {
  const tokens = subject.split('.');
  if (tokens.at(-1) === '>') {
    throw new Error(`stream.partitions needs a subject without a trailing '>' (got ${subject})`);
  }
  if (tokens[subjectToken - 1] !== '*') {
    throw new Error(`machineId.subjectToken ${subjectToken} is not a '*' token of ${subject}`);
  }
  let wildcard = 0;
  let machineWildcard = 0;
  const dest = tokens.map((token, i) => {
    if (token !== '*') return token;
    wildcard += 1;
    if (i === subjectToken - 1) machineWildcard = wildcard;
    return `{{wildcard(${wildcard})}}`;
  });
  return { src: subject, dest: `${dest.join('.')}.{{partition(${partitions},${machineWildcard})}}` };
}

/** The subject a consumer filters on to read every partition (or the plain subject when unpartitioned). */
export function storedSubject(fleet: SensorFleet): string {
  return fleet.spec.stream.partitions > 1 ? `${fleet.spec.subject}.*` : fleet.spec.subject;
}

function common(fleet: SensorFleet): Omit<DesiredStream, 'name' | 'subjects' | 'description'> {
  const { stream } = fleet.spec;
  return {
    retention: 'limits',
    storage: stream.storage === 'Memory' ? 'memory' : 'file',
    discard: 'old',
    max_age: parseDuration(stream.maxAge) * 1_000_000,
    max_bytes: stream.maxBytes ?? -1,
    num_replicas: stream.replicas,
    metadata: { [FLEET_METADATA_KEY]: `${fleet.metadata.namespace}/${fleet.metadata.name}` },
  };
}

/** The readings stream: the fleet subject, limits retention, partitioned by machine when asked. */
export function desiredStream(fleet: SensorFleet): DesiredStream {
  const { subject, stream, machineId } = fleet.spec;
  const desired: DesiredStream = {
    ...common(fleet),
    name: streamName(fleet),
    description: `Readings of SensorFleet ${fleet.metadata.namespace}/${fleet.metadata.name} (managed by prognos)`,
    subjects: [subject],
  };
  if (stream.partitions > 1) {
    desired.subject_transform = partitionTransform(subject, machineId.subjectToken ?? 0, stream.partitions);
  }
  return desired;
}

/** Rejected readings with their reason, kept as long as the readings so they can be replayed. */
export function desiredDeadLetterStream(fleet: SensorFleet): DesiredStream {
  const ns = fleet.metadata.namespace ?? '';
  const name = fleet.metadata.name ?? '';
  return {
    ...common(fleet),
    name: `${streamName(fleet)}_DLQ`,
    description: `Dead letters of SensorFleet ${ns}/${name} (managed by prognos)`,
    subjects: [deadLetterSubject(ns, name)],
  };
}

/** Maintenance events: the fleet's own events subject (when declared) and the canonical label subject. */
export function desiredLabelsStream(fleet: SensorFleet): DesiredStream {
  const ns = fleet.metadata.namespace ?? '';
  const name = fleet.metadata.name ?? '';
  const subjects = [canonicalLabelsSubject(ns, name)];
  if (fleet.spec.labels) subjects.unshift(fleet.spec.labels.subject);
  return {
    ...common(fleet),
    name: `${streamName(fleet)}_LABELS`,
    description: `Maintenance events (labels) of SensorFleet ${ns}/${name} (managed by prognos)`,
    subjects,
  };
}

export function desiredStreams(fleet: SensorFleet): DesiredStream[] {
  return [desiredStream(fleet), desiredDeadLetterStream(fleet), desiredLabelsStream(fleet)];
}

/**
 * The fields of `desired` that differ from the server's config: empty means no update call, so a
 * steady fleet costs NATS nothing per reconcile. Storage cannot change in place and is reported apart.
 */
export function streamDrift(desired: DesiredStream, current: Partial<StreamConfig>): string[] {
  const fields: (keyof DesiredStream)[] = [
    'subjects',
    'description',
    'max_age',
    'max_bytes',
    'num_replicas',
    'discard',
    'subject_transform',
    'metadata',
  ];
  return fields.filter((field) => {
    const want = desired[field];
    const have = current[field as keyof StreamConfig];
    if (field === 'metadata') {
      // The server adds its own `_nats.*` keys; only ours must match.
      const haveMeta = (have ?? {}) as Record<string, string>;
      return Object.entries(want as Record<string, string>).some(([k, v]) => haveMeta[k] !== v);
    }
    if (field === 'subject_transform') {
      const w = want as DesiredStream['subject_transform'];
      const h = have as { src?: string; dest?: string } | undefined;
      return (w?.src ?? '') !== (h?.src ?? '') || (w?.dest ?? '') !== (h?.dest ?? '');
    }
    return JSON.stringify(want) !== JSON.stringify(have);
  });
}
