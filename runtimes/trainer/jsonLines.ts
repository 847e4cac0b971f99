// Readings and maintenance events as JSON lines: each line the JSON a machine publishes on NATS.
// A fleet that finds machine ids in a subject token needs the subject too, so a line may also be a
// NATS message envelope {"subject": "...", "data": {...}} (what a JetStream replay yields).
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { SensorFleet } from '../../operator/api/sensorFleet.ts';
import { labelMachine } from '../inference/input/labels.ts';

export interface RawMessage {
  subject: string;
  data: Uint8Array;
}

export interface MaintenanceEvent {
  machineId: string;
  event: string;
  /** Epoch ms. */
  ts: number;
}

const utf8 = new TextEncoder();

function isEnvelope(value: unknown): value is { subject: string; data: unknown } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 2 && 'subject' in value && 'data' in value && typeof value.subject === 'string';
}

async function* lines(file: string): AsyncGenerator<{ line: string; number: number }> {
  const input = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let number = 0;
  for await (const line of input) {
    number++;
    if (line.trim() !== '') yield { line, number };
  }
}

/**
 * The readings of `file` as NATS messages. A bare reading gets the fleet's subject, which must then
 * not be where its machine id is (a line the decoder cannot place is dead-lettered like on NATS).
 */
export async function readReadings(file: string, fleet: SensorFleet): Promise<RawMessage[]> {
  const messages: RawMessage[] = [];
  for await (const { line, number } of lines(file)) {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      // Kept as bytes: the runtime's decoder rejects it (malformed_json), as it would on NATS.
      messages.push({ subject: fleet.spec.subject, data: utf8.encode(line) });
      continue;
    }
    if (isEnvelope(value))
      messages.push({ subject: value.subject, data: utf8.encode(JSON.stringify(value.data)) });
    else if (fleet.spec.machineId.subjectToken !== undefined)
      throw new Error(
        `${file}:${number}: the fleet takes machine ids from subject token ${fleet.spec.machineId.subjectToken}: write {"subject", "data"} lines`,
      );
    else messages.push({ subject: fleet.spec.subject, data: utf8.encode(line) });
  }
  return messages;
}

/** Where a fleet's maintenance events name their machine when the event itself does not. */
function eventSource(fleet: SensorFleet): { subjectToken: number } | { field: string } {
  return fleet.spec.machineId.subjectToken !== undefined
    ? { subjectToken: fleet.spec.machineId.subjectToken }
    : { field: fleet.spec.machineId.field! };
}

/**
 * One maintenance event (docs/inference-runtime-io.md, labels), {machineId?, event, ts} as on
 * prognos.labels.<ns>.<fleet>.<machine>, or on the fleet's own labels subject, where the machine is
 * found as for readings. `ts` is epoch milliseconds. Files and a JetStream replay parse events here.
 */
export function parseEvent(
  subject: string,
  value: unknown,
  fleet: SensorFleet,
): MaintenanceEvent | { error: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { error: 'not an event object' };
  const fields = value as Record<string, unknown>;
  const machineId = labelMachine(subject, fields, eventSource(fleet));
  const { event: kind, ts } = fields;
  if (!machineId || typeof kind !== 'string' || typeof ts !== 'number' || !Number.isFinite(ts))
    return { error: 'an event needs a machine, an event name and ts (epoch ms)' };
  return { machineId, event: kind, ts };
}

/**
 * Maintenance events of a file, one per line: the event, or its {"subject", "data"} envelope.
 * Malformed lines are errors here, not skipped: a lost failure event would silently change every
 * target of its machine.
 */
export async function readEvents(file: string, fleet: SensorFleet): Promise<MaintenanceEvent[]> {
  const events: MaintenanceEvent[] = [];
  for await (const { line, number } of lines(file)) {
    const value: unknown = JSON.parse(line);
    const [subject, data] = isEnvelope(value)
      ? [value.subject, value.data]
      : [fleet.spec.labels?.subject ?? '', value];
    const event = parseEvent(subject, data, fleet);
    if ('error' in event) throw new Error(`${file}:${number}: ${event.error}`);
    events.push(event);
  }
  return events;
}
