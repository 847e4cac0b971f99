// The fleet's data window from JetStream: its readings stream and its labels stream (the canonical
// prognos.labels.<ns>.<fleet>.* subject and the fleet's own spec.labels.subject, both captured by the
// operator's labels stream) from `now - windowMs` on, by stream time, through ordered consumers. The
// replay stops at the last message each stream held when it began, so readings still arriving do not
// keep it going. Messages come out as NATS delivers them (stored subject, partition token included)
// and go to the same timeline and row builder as files.
import { DeliverPolicy, jetstreamManager, type JetStreamManager, type StreamInfo } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { SensorFleet } from '../../operator/api/sensorFleet.ts';
import { storedSubject, streamName } from '../../operator/controllers/sensorFleet/desiredStreams.ts';
import { parseEvent, type MaintenanceEvent, type RawMessage } from './jsonLines.ts';

export interface StreamReplay {
  messages: RawMessage[];
  events: MaintenanceEvent[];
  streams: { readings: string; labels: string };
  /** Label messages that are not events (not JSON, no machine, no ts): skipped, counted. */
  rejectedEvents: number;
  /** Retention shorter than the window, and skipped label messages: for result.warning. */
  warnings: string[];
}

/** The labels stream of a fleet (desiredLabelsStream's name). */
export const labelsStreamName = (fleet: SensorFleet): string => `${streamName(fleet)}_LABELS`;

/** max_age is in nanoseconds; 0 keeps messages for ever. */
export function retentionWarning(stream: string, maxAgeNanos: number, windowMs: number): string | undefined {
  const maxAgeMs = maxAgeNanos / 1e6;
  if (maxAgeMs <= 0 || maxAgeMs >= windowMs) return undefined;
  return `stream ${stream} keeps ${formatMs(maxAgeMs)} (max_age), less than the data window of ${formatMs(windowMs)}: older data is gone`;
}

function formatMs(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const)
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

async function streamInfo(jsm: JetStreamManager, name: string, what: string): Promise<StreamInfo> {
  try {
    return await jsm.streams.info(name);
  } catch (error) {
    if (/stream not found/i.test((error as Error).message))
      throw new Error(`${what} stream ${name} not found on NATS: is the SensorFleet Ready?`, {
        cause: error,
      });
    throw new Error(`${what} stream ${name}: ${(error as Error).message}`, { cause: error });
  }
}

/** Every message of `stream` stored at or after `startMs`, up to the last one stored now. */
async function replayStream(
  jsm: JetStreamManager,
  info: StreamInfo,
  startMs: number,
  filter: string | undefined,
): Promise<RawMessage[]> {
  const out: RawMessage[] = [];
  const last = info.state.last_seq;
  if (info.state.messages === 0 || Date.parse(info.state.last_ts) < startMs) return out;
  const consumer = await jsm.jetstream().consumers.get(info.config.name, {
    deliver_policy: DeliverPolicy.StartTime,
    opt_start_time: new Date(startMs).toISOString(),
    ...(filter ? { filter_subjects: [filter] } : {}),
  });
  const messages = await consumer.consume({ max_messages: 1000 });
  try {
    for await (const m of messages) {
      if (m.seq > last) break;
      out.push({ subject: m.subject, data: m.data });
      if (m.seq === last || m.info.pending === 0) break;
    }
  } finally {
    await messages.close();
  }
  return out;
}

export async function replayFleet(
  nc: NatsConnection,
  fleet: SensorFleet,
  windowMs: number,
  now: number,
): Promise<StreamReplay> {
  const jsm = await jetstreamManager(nc);
  const who = `SensorFleet ${fleet.metadata.namespace}/${fleet.metadata.name}`;
  const readingsStream = streamName(fleet);
  const labelsStream = labelsStreamName(fleet);
  const readingsInfo = await streamInfo(jsm, readingsStream, `${who}: readings`);
  const labelsInfo = await streamInfo(jsm, labelsStream, `${who}: labels`);
  const warnings: string[] = [];
  // The server's config, not the fleet's spec: it is what actually holds the data.
  for (const info of [readingsInfo, labelsInfo]) {
    const retention = retentionWarning(info.config.name, info.config.max_age, windowMs);
    if (retention) warnings.push(retention);
  }
  const start = now - windowMs;
  const [messages, labelMessages] = await Promise.all([
    replayStream(jsm, readingsInfo, start, storedSubject(fleet)),
    replayStream(jsm, labelsInfo, start, undefined),
  ]);
  const events: MaintenanceEvent[] = [];
  let rejectedEvents = 0;
  const text = new TextDecoder();
  for (const m of labelMessages) {
    let value: unknown;
    try {
      value = JSON.parse(text.decode(m.data));
    } catch {
      rejectedEvents++;
      continue;
    }
    const event = parseEvent(m.subject, value, fleet);
    if ('error' in event) rejectedEvents++;
    else events.push(event);
  }
  // A file with a bad event is refused; a stream cannot be corrected, so its bad events are skipped
  // and said so (a missed failure would change its machine's targets).
  if (rejectedEvents > 0)
    warnings.push(`${rejectedEvents} message(s) on ${labelsStream} are not maintenance events; skipped`);
  return {
    messages,
    events,
    streams: { readings: readingsStream, labels: labelsStream },
    rejectedEvents,
    warnings,
  };
}
