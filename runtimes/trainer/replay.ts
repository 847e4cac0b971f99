// One replay order for training and scoring: readings and maintenance events merged by time, so the
// trainer's feature rows and the runtime's pipeline see every machine's windows and its
// count_since_maintenance in the same states. Rows come from the runtime's own decoder, window store
// and row builder (runtimes/inference/features), never from a second implementation.
import type { RuntimeConfig } from '../../contracts/runtimeConfig.ts';
import { createFeatureVectorBuilder, windowSpecsOf } from '../inference/features/featureVector.ts';
import { WindowStore } from '../inference/features/windows.ts';
import { RESETTING_EVENTS } from '../inference/input/labels.ts';
import { createReadingDecoder } from '../inference/input/reading.ts';
import type { Pipeline, Prediction } from '../inference/pipeline/pipeline.ts';
import type { MaintenanceEvent, RawMessage } from './jsonLines.ts';

export type TimelineItem =
  | { kind: 'reading'; message: RawMessage; machineId: string; ts: number }
  | { kind: 'event'; event: MaintenanceEvent };

export interface Timeline {
  items: TimelineItem[];
  /** Readings the runtime's decoder rejects (they would be dead letters): in no row. */
  rejected: number;
  /**
   * What both sides pass as the readings' arrival time: one instant for the whole replay, so
   * future-skew checks agree and no machine is evicted as idle part-way.
   */
  receivedAt: number;
}

/**
 * Decodes every reading once for its machine and time, then orders by time; an event takes effect
 * after the readings at its own timestamp (the last reading before a failure is the failing one).
 */
export function buildTimeline(
  config: RuntimeConfig,
  messages: readonly RawMessage[],
  events: readonly MaintenanceEvent[],
  receivedAt: number,
): Timeline {
  const decode = createReadingDecoder(config);
  const keyed: { item: TimelineItem; ts: number; order: number; index: number }[] = [];
  let rejected = 0;
  messages.forEach((message, index) => {
    const d = decode(message.subject, message.data, receivedAt);
    if (!d.ok) {
      rejected++;
      return;
    }
    const { machineId, ts } = d.reading;
    keyed.push({ item: { kind: 'reading', message, machineId, ts }, ts, order: 0, index });
  });
  events.forEach((event, index) =>
    keyed.push({ item: { kind: 'event', event }, ts: event.ts, order: 1, index }),
  );
  keyed.sort((a, b) => a.ts - b.ts || a.order - b.order || a.index - b.index);
  return { items: keyed.map((k) => k.item), rejected, receivedAt };
}

export interface FeatureRows {
  inputs: readonly string[];
  width: number;
  count: number;
  /** count × width, row-major, exactly the floats the runtime would feed the model. */
  rows: Float32Array;
  machineIds: string[];
  ts: Float64Array;
  /** Whether the runtime would mark the row's prediction `warming` (windows not full yet). */
  warming: Uint8Array;
}

/** The feature row of every reading, built right after the reading enters its windows (as the pipeline does). */
export function buildRows(config: RuntimeConfig, inputs: readonly string[], timeline: Timeline): FeatureRows {
  const decode = createReadingDecoder(config);
  const store = new WindowStore(windowSpecsOf(config), config.schema.features.length);
  const builder = createFeatureVectorBuilder(config, inputs);
  const readings = timeline.items.filter((i) => i.kind === 'reading').length;
  const width = builder.width;
  const rows = new Float32Array(readings * width);
  const machineIds: string[] = [];
  const ts = new Float64Array(readings);
  const warming = new Uint8Array(readings);
  let k = 0;
  for (const item of timeline.items) {
    if (item.kind === 'event') {
      if (RESETTING_EVENTS.has(item.event.event)) store.markMaintenance(item.event.machineId);
      continue;
    }
    const d = decode(item.message.subject, item.message.data, timeline.receivedAt);
    if (!d.ok) throw new Error(`reading of ${item.machineId} at ${item.ts} no longer decodes`);
    const slot = store.push(d.reading.machineId, d.reading.values, timeline.receivedAt, d.reading.ts);
    builder.fill(store, slot, rows, k * width);
    machineIds.push(d.reading.machineId);
    ts[k] = d.reading.ts;
    warming[k] = store.warmedUp(slot, builder.warmup) ? 0 : 1;
    k++;
  }
  return { inputs, width, count: k, rows, machineIds, ts, warming };
}

/**
 * Replays the timeline through a runtime pipeline (runtimes/inference/pipeline): batches of at most
 * `maxBatch` readings, cut at each event so it applies between the same readings as in buildRows.
 */
export async function scoreTimeline(
  pipeline: Pipeline,
  timeline: Timeline,
  maxBatch: number,
): Promise<Prediction[]> {
  const predictions: Prediction[] = [];
  let batch: { subject: string; data: Uint8Array; receivedAt: number }[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const result = await pipeline.process(batch, { ignoreSplit: true });
    predictions.push(...result.predictions);
    batch = [];
  };
  for (const item of timeline.items) {
    if (item.kind === 'event') {
      if (RESETTING_EVENTS.has(item.event.event)) {
        await flush();
        pipeline.markMaintenance(item.event.machineId);
      }
      continue;
    }
    batch.push({ ...item.message, receivedAt: timeline.receivedAt });
    if (batch.length >= maxBatch) await flush();
  }
  await flush();
  return predictions;
}
