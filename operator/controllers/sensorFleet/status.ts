import type { SensorFleet, SensorFleetStatus } from '../../api/sensorFleet.ts';
import { rfc3339, setCondition, type ConditionInput } from '../../framework/conditions.ts';

/** What the fleet's runtimes reported on telemetry, summed over every model bound to the fleet. */
export interface FleetTraffic {
  machinesSeen: number;
  readingsPerSecond: number;
  deadLettersPerSecond: number;
  /** Newest reading any runtime accepted; undefined when none ever did. */
  lastReadingTime?: Date;
}

/** Outcome of ensuring the streams on NATS this reconcile. */
export type StreamOutcome =
  | { ok: true; name: string; deadLetterStream: string; messages: number; bytes: number }
  | { ok: false; reason: string; message: string };

export interface FleetStatusInputs {
  fleet: SensorFleet;
  streams: StreamOutcome;
  traffic: FleetTraffic | undefined;
  now: Date;
}

/** A fleet silent for longer than this is not Receiving: a few telemetry periods, with slack. */
export const RECEIVING_WINDOW_MS = 60_000;

/**
 * Rates are rounded so noise between telemetry periods does not look like a change: two significant
 * decimals below 10/s, whole readings above. Written status stays stable on a steady fleet.
 */
export function roundRate(rate: number): number {
  if (!Number.isFinite(rate) || rate <= 0) return 0;
  return rate < 10 ? Math.round(rate * 100) / 100 : Math.round(rate);
}

function streamCondition(streams: StreamOutcome, generation: number | undefined): ConditionInput {
  return streams.ok
    ? {
        type: 'StreamReady',
        status: 'True',
        reason: 'StreamsEnsured',
        message: `stream ${streams.name} and dead-letter stream ${streams.deadLetterStream} match the spec`,
        observedGeneration: generation,
      }
    : {
        type: 'StreamReady',
        status: 'False',
        reason: streams.reason,
        message: streams.message,
        observedGeneration: generation,
      };
}

function receivingCondition(
  traffic: FleetTraffic | undefined,
  now: Date,
  generation: number | undefined,
): ConditionInput {
  const last = traffic?.lastReadingTime;
  if (!traffic || !last) {
    return {
      type: 'Receiving',
      status: 'False',
      reason: 'NoReadings',
      message: 'no runtime bound to this fleet has reported an accepted reading yet',
      observedGeneration: generation,
    };
  }
  const silentMs = now.getTime() - last.getTime();
  if (silentMs > RECEIVING_WINDOW_MS) {
    return {
      type: 'Receiving',
      status: 'False',
      reason: 'ReadingsStopped',
      // No "seconds ago": a message that changes every reconcile would be a write every reconcile.
      message: `no reading for over ${RECEIVING_WINDOW_MS / 1000}s; last at ${rfc3339(last)}`,
      observedGeneration: generation,
    };
  }
  return {
    type: 'Receiving',
    status: 'True',
    reason: 'ReadingsArriving',
    message: 'runtimes report accepted readings',
    observedGeneration: generation,
  };
}

/** Ready (the printer column): the fleet is usable once its streams are; Receiving is informational. */
function readyCondition(stream: ConditionInput): ConditionInput {
  return { ...stream, type: 'Ready', reason: stream.status === 'True' ? 'StreamsReady' : stream.reason };
}

/** The whole status of a fleet, from this reconcile's inputs; pure, so table-tested. */
export function fleetStatus({ fleet, streams, traffic, now }: FleetStatusInputs): SensorFleetStatus {
  const generation = fleet.metadata.generation;
  const previous = fleet.status ?? {};
  const stream = streamCondition(streams, generation);
  let conditions = setCondition(previous.conditions, stream, now);
  conditions = setCondition(conditions, receivingCondition(traffic, now, generation), now);
  conditions = setCondition(conditions, readyCondition(stream), now);
  const status: SensorFleetStatus = {
    observedGeneration: generation,
    conditions,
    machinesSeen: traffic?.machinesSeen ?? previous.machinesSeen ?? 0,
    readingsPerSecond: roundRate(traffic?.readingsPerSecond ?? 0),
    deadLettersPerSecond: roundRate(traffic?.deadLettersPerSecond ?? 0),
  };
  const last = traffic?.lastReadingTime ? rfc3339(traffic.lastReadingTime) : previous.lastReadingTime;
  if (last !== undefined) status.lastReadingTime = last;
  if (streams.ok) {
    // Stored counts move with every reading; they are refreshed only when something else is written.
    status.stream = {
      name: streams.name,
      deadLetterStream: streams.deadLetterStream,
      messages: streams.messages,
      bytes: streams.bytes,
    };
  } else if (previous.stream) {
    status.stream = previous.stream;
  }
  return status;
}

/**
 * Whether `next` differs from `current` in something other than traffic figures and stored counts.
 * Such a change is written at once; traffic-only changes wait for the telemetry write interval.
 */
export function significantChange(current: SensorFleetStatus | undefined, next: SensorFleetStatus): boolean {
  const strip = (s: SensorFleetStatus | undefined) =>
    JSON.stringify({
      observedGeneration: s?.observedGeneration,
      conditions: (s?.conditions ?? []).map((c) => [c.type, c.status, c.reason, c.message]),
      stream: s?.stream?.name,
      dlq: s?.stream?.deadLetterStream,
    });
  return strip(current) !== strip(next);
}

/** Whether only traffic differs (rates, machines, last reading), ignoring stored message/byte counts. */
export function trafficChanged(current: SensorFleetStatus | undefined, next: SensorFleetStatus): boolean {
  return (
    (current?.machinesSeen ?? 0) !== next.machinesSeen ||
    (current?.readingsPerSecond ?? 0) !== next.readingsPerSecond ||
    (current?.deadLettersPerSecond ?? 0) !== next.deadLettersPerSecond ||
    current?.lastReadingTime !== next.lastReadingTime
  );
}
