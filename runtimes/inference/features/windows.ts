// Per-machine ring buffers for windowed features, stored in chunked typed-array slabs so 100k
// machines cost a few hundred bytes of JS heap each: no per-machine objects besides the id map.
// Aggregations are incremental (running shifted moments, recompute-on-evict min/max); sums are
// recomputed exactly whenever a ring wraps, which bounds floating-point drift at O(1) amortised.
// A window holds the last `size` readings, or with `durationMs` the readings of that span of event
// time (reading timestamps, so a replayed stream gets the windows it had live), at most `size`.
// A reading older than the machine's newest (a redelivery after a failover, a late sensor) enters
// no window and does not replace the latest values: windows hold the newest readings, in order.
import type { Aggregation } from '../../../contracts/runtimeConfig.ts';
import {
  type WindowMoments,
  windowKurtosis,
  windowMean,
  windowRms,
  windowSlope,
  windowStd,
} from './aggregations.ts';

export interface WindowSpec {
  /** Index of the feature in the reading's values. */
  featureIndex: number;
  /** Samples kept: the window itself, or the bound of a time window. */
  size: number;
  /** A time window: samples whose timestamp is within this many ms of the machine's latest reading. */
  durationMs?: number;
  aggregations: readonly Aggregation[];
}

// Float64 stats per (machine, window).
const K = 0;
const S1 = 1;
const S2 = 2;
const S3 = 3;
const S4 = 4;
const ST = 5;
const MIN = 6;
const MAX = 7;
const STATS = 8;
// Uint16 counters per (machine, window).
const COUNT = 0;
const HEAD = 1;
const COUNTERS = 2;

interface Chunk {
  samples: Float32Array;
  /** Timestamp of each sample of the time windows (laid out by timeOffsets). */
  times: Float64Array;
  stats: Float64Array;
  counters: Uint16Array;
  latest: Float64Array;
  sinceMaintenance: Uint32Array;
  lastSeen: Float64Array;
  /** The latest reading timestamp per machine: "now" for its time windows. */
  lastTs: Float64Array;
  /** Readings and the first reading's timestamp since this store first saw the machine (warm-up). */
  readings: Uint32Array;
  firstTs: Float64Array;
}

export interface WindowStoreOptions {
  /** Machine slots allocated together; memory grows a chunk at a time. */
  chunkMachines?: number;
}

export class WindowStore {
  readonly featureCount: number;
  readonly specs: readonly WindowSpec[];
  private readonly offsets: Int32Array; // sample offset of each window inside a machine's record
  private readonly samplesPerMachine: number;
  private readonly timeOffsets: Int32Array; // offset of a time window's timestamps; -1 for count windows
  private readonly timesPerMachine: number;
  private readonly tracksExtremes: Uint8Array;
  private readonly chunkMachines: number;
  private readonly chunks: Chunk[] = [];
  private readonly slots = new Map<string, number>();
  private readonly ids: (string | undefined)[] = [];
  private readonly free: number[] = [];
  private readonly moments: WindowMoments = { n: 0, k: 0, s1: 0, s2: 0, s3: 0, s4: 0, st: 0 };

  constructor(specs: readonly WindowSpec[], featureCount: number, options: WindowStoreOptions = {}) {
    this.specs = specs;
    this.featureCount = featureCount;
    this.chunkMachines = options.chunkMachines ?? 4096;
    this.offsets = new Int32Array(specs.length);
    this.timeOffsets = new Int32Array(specs.length).fill(-1);
    let offset = 0;
    let timeOffset = 0;
    specs.forEach((s, w) => {
      this.offsets[w] = offset;
      offset += s.size;
      if (s.durationMs !== undefined) {
        this.timeOffsets[w] = timeOffset;
        timeOffset += s.size;
      }
    });
    this.samplesPerMachine = offset;
    this.timesPerMachine = timeOffset;
    this.tracksExtremes = Uint8Array.from(specs, (s) =>
      s.aggregations.includes('min') || s.aggregations.includes('max') ? 1 : 0,
    );
  }

  get machineCount(): number {
    return this.slots.size;
  }

  /** Allocated slot capacity (machines), for memory accounting. */
  get capacity(): number {
    return this.chunks.length * this.chunkMachines;
  }

  has(machineId: string): boolean {
    return this.slots.has(machineId);
  }

  /**
   * Appends one reading's values (NaN = absent, not buffered) and returns the machine's slot. `now`
   * is when it arrived (idle eviction), `ts` its own timestamp (time windows; default `now`).
   */
  push(machineId: string, values: Float64Array, now: number, ts = now): number {
    const slot = this.slotFor(machineId);
    const chunk = this.chunks[Math.floor(slot / this.chunkMachines)]!;
    const local = slot % this.chunkMachines;
    chunk.lastSeen[local] = now;
    chunk.sinceMaintenance[local]! += 1;
    const seen = chunk.readings[local]!;
    chunk.readings[local] = seen + 1;
    if (seen === 0) chunk.firstTs[local] = ts;
    if (ts < chunk.lastTs[local]!) return slot;
    const latestBase = local * this.featureCount;
    for (let f = 0; f < this.featureCount; f++) {
      const v = values[f]!;
      if (!Number.isNaN(v)) chunk.latest[latestBase + f] = v;
    }
    // Time windows end at the newest reading seen: a late one does not pull them back.
    const end = Math.max(chunk.lastTs[local]!, ts);
    chunk.lastTs[local] = end;
    for (let w = 0; w < this.specs.length; w++) {
      const spec = this.specs[w]!;
      const v = values[spec.featureIndex]!;
      if (spec.durationMs === undefined) {
        if (!Number.isNaN(v)) this.pushSample(chunk, local, w, values, spec.featureIndex);
        continue;
      }
      const cutoff = end - spec.durationMs;
      this.dropUntil(chunk, local, w, cutoff);
      if (Number.isNaN(v) || ts <= cutoff) continue;
      // The sample's time goes where pushSample will write the sample: the ring's head.
      const c = (local * this.specs.length + w) * COUNTERS;
      chunk.times[local * this.timesPerMachine + this.timeOffsets[w]! + chunk.counters[c + HEAD]!] = ts;
      this.pushSample(chunk, local, w, values, spec.featureIndex);
    }
    return slot;
  }

  /** Latest value of a feature (carried forward when a reading omits it); NaN if never seen. */
  latest(slot: number, featureIndex: number): number {
    const chunk = this.chunks[Math.floor(slot / this.chunkMachines)]!;
    return chunk.latest[(slot % this.chunkMachines) * this.featureCount + featureIndex]!;
  }

  /** One aggregation of window `w`; 0 while the window is empty. */
  aggregate(slot: number, w: number, aggregation: Aggregation): number {
    const chunk = this.chunks[Math.floor(slot / this.chunkMachines)]!;
    const local = slot % this.chunkMachines;
    if (aggregation === 'count_since_maintenance') return chunk.sinceMaintenance[local]!;
    const base = (local * this.specs.length + w) * STATS;
    const n = chunk.counters[(local * this.specs.length + w) * COUNTERS + COUNT]!;
    if (n === 0) return 0;
    if (aggregation === 'min') return chunk.stats[base + MIN]!;
    if (aggregation === 'max') return chunk.stats[base + MAX]!;
    const m = this.moments;
    m.n = n;
    m.k = chunk.stats[base + K]!;
    m.s1 = chunk.stats[base + S1]!;
    m.s2 = chunk.stats[base + S2]!;
    m.s3 = chunk.stats[base + S3]!;
    m.s4 = chunk.stats[base + S4]!;
    m.st = chunk.stats[base + ST]!;
    if (aggregation === 'mean') return windowMean(m);
    if (aggregation === 'std') return windowStd(m);
    if (aggregation === 'rms') return windowRms(m);
    if (aggregation === 'kurtosis') return windowKurtosis(m);
    // Not a switch: its implicit fall-through (undefined) made the JIT box every result, a
    // heap number per window column of every row.
    return windowSlope(m);
  }

  /**
   * Writes the last `count` samples of window `w`, oldest first, to out[offset + t·stride]; when the
   * window holds fewer, the first positions get 0 (a sequence model's front padding).
   */
  copyLast(slot: number, w: number, count: number, out: Float32Array, offset: number, stride: number): void {
    const chunk = this.chunks[Math.floor(slot / this.chunkMachines)]!;
    const local = slot % this.chunkMachines;
    const size = this.specs[w]!.size;
    const c = (local * this.specs.length + w) * COUNTERS;
    const n = chunk.counters[c + COUNT]!;
    const k = Math.min(n, count);
    const pad = count - k;
    for (let t = 0; t < pad; t++) out[offset + t * stride] = 0;
    const base = local * this.samplesPerMachine + this.offsets[w]!;
    const first = oldest(chunk.counters[c + HEAD]!, n, size) + (n - k);
    for (let i = 0; i < k; i++)
      out[offset + (pad + i) * stride] = chunk.samples[base + ((first + i) % size)]!;
  }

  /** Samples of window `w`, oldest first (for tests and debugging; allocates). */
  samples(slot: number, w: number): number[] {
    const chunk = this.chunks[Math.floor(slot / this.chunkMachines)]!;
    const local = slot % this.chunkMachines;
    const size = this.specs[w]!.size;
    const c = (local * this.specs.length + w) * COUNTERS;
    const n = chunk.counters[c + COUNT]!;
    const start = oldest(chunk.counters[c + HEAD]!, n, size);
    const base = local * this.samplesPerMachine + this.offsets[w]!;
    return Array.from({ length: n }, (_, i) => chunk.samples[base + ((start + i) % size)]!);
  }

  /**
   * Whether the machine's windows hold what a full window would: at least `readings` readings and
   * `spanMs` of event time since this store first saw it. A machine new to this replica (first seen,
   * or its partition just moved here) is warming up until then.
   */
  warmedUp(slot: number, { readings, spanMs }: { readings: number; spanMs: number }): boolean {
    const chunk = this.chunks[Math.floor(slot / this.chunkMachines)]!;
    const local = slot % this.chunkMachines;
    return (
      chunk.readings[local]! >= readings &&
      (spanMs === 0 || chunk.lastTs[local]! - chunk.firstTs[local]! >= spanMs)
    );
  }

  slotOf(machineId: string): number | undefined {
    return this.slots.get(machineId);
  }

  /** A maintenance event restarts the machine's count_since_maintenance. */
  markMaintenance(machineId: string): boolean {
    const slot = this.slots.get(machineId);
    if (slot === undefined) return false;
    this.chunks[Math.floor(slot / this.chunkMachines)]!.sinceMaintenance[slot % this.chunkMachines] = 0;
    return true;
  }

  /** Forgets machines not seen since `now - ttlMs`; returns their ids. O(capacity): call periodically. */
  evictIdle(now: number, ttlMs: number): string[] {
    const evicted: string[] = [];
    const cutoff = now - ttlMs;
    for (let slot = 0; slot < this.ids.length; slot++) {
      const id = this.ids[slot];
      if (id === undefined) continue;
      if (this.chunks[Math.floor(slot / this.chunkMachines)]!.lastSeen[slot % this.chunkMachines]! < cutoff) {
        this.release(slot);
        evicted.push(id);
      }
    }
    return evicted;
  }

  delete(machineId: string): boolean {
    const slot = this.slots.get(machineId);
    if (slot === undefined) return false;
    this.release(slot);
    return true;
  }

  private release(slot: number): void {
    this.slots.delete(this.ids[slot]!);
    this.ids[slot] = undefined;
    this.free.push(slot);
  }

  private slotFor(machineId: string): number {
    const existing = this.slots.get(machineId);
    if (existing !== undefined) return existing;
    if (this.free.length === 0) this.grow();
    const slot = this.free.pop()!;
    this.reset(slot);
    this.slots.set(machineId, slot);
    this.ids[slot] = machineId;
    return slot;
  }

  private grow(): void {
    const n = this.chunkMachines;
    const windows = this.specs.length;
    const first = this.chunks.length * n;
    this.chunks.push({
      samples: new Float32Array(n * this.samplesPerMachine),
      times: new Float64Array(n * this.timesPerMachine),
      stats: new Float64Array(n * windows * STATS),
      counters: new Uint16Array(n * windows * COUNTERS),
      latest: new Float64Array(n * this.featureCount),
      sinceMaintenance: new Uint32Array(n),
      lastSeen: new Float64Array(n),
      lastTs: new Float64Array(n),
      readings: new Uint32Array(n),
      firstTs: new Float64Array(n),
    });
    // Highest first so pop() hands out low slots first.
    for (let slot = first + n - 1; slot >= first; slot--) this.free.push(slot);
  }

  private reset(slot: number): void {
    const chunk = this.chunks[Math.floor(slot / this.chunkMachines)]!;
    const local = slot % this.chunkMachines;
    const windows = this.specs.length;
    chunk.counters.fill(0, local * windows * COUNTERS, (local + 1) * windows * COUNTERS);
    chunk.stats.fill(0, local * windows * STATS, (local + 1) * windows * STATS);
    chunk.latest.fill(NaN, local * this.featureCount, (local + 1) * this.featureCount);
    chunk.sinceMaintenance[local] = 0;
    chunk.lastTs[local] = -Infinity;
    chunk.readings[local] = 0;
  }

  /** Drops the oldest samples of time window `w` while they are at or before `cutoff`. */
  private dropUntil(chunk: Chunk, local: number, w: number, cutoff: number): void {
    const size = this.specs[w]!.size;
    const c = (local * this.specs.length + w) * COUNTERS;
    const timeBase = local * this.timesPerMachine + this.timeOffsets[w]!;
    const { counters, times } = chunk;
    let dropped = false;
    for (let n = counters[c + COUNT]!; n > 0; n--) {
      if (times[timeBase + oldest(counters[c + HEAD]!, n, size)]! > cutoff) break;
      this.dropOldest(chunk, local, w);
      dropped = true;
    }
    if (!dropped) return;
    const n = counters[c + COUNT]!;
    const b = (local * this.specs.length + w) * STATS;
    const sampleBase = local * this.samplesPerMachine + this.offsets[w]!;
    if (n > 0 && this.shiftIsStale(chunk.stats, b, n))
      this.recompute(
        chunk.samples,
        sampleBase,
        size,
        oldest(counters[c + HEAD]!, n, size),
        n,
        chunk.stats,
        b,
      );
  }

  /** Removes the oldest sample: the moments lose it and every other sample's position moves down one. */
  private dropOldest(chunk: Chunk, local: number, w: number): void {
    const size = this.specs[w]!.size;
    const c = (local * this.specs.length + w) * COUNTERS;
    const b = (local * this.specs.length + w) * STATS;
    const sampleBase = local * this.samplesPerMachine + this.offsets[w]!;
    const { counters, stats, samples } = chunk;
    const n = counters[c + COUNT]!;
    const at = oldest(counters[c + HEAD]!, n, size);
    const removed = samples[sampleBase + at]!;
    counters[c + COUNT] = n - 1;
    if (n === 1) {
      stats.fill(0, b, b + STATS);
      return;
    }
    const e = removed - stats[b + K]!;
    const e2 = e * e;
    stats[b + ST] = stats[b + ST]! - (stats[b + S1]! - e);
    stats[b + S1] = stats[b + S1]! - e;
    stats[b + S2] = stats[b + S2]! - e2;
    stats[b + S3] = stats[b + S3]! - e2 * e;
    stats[b + S4] = stats[b + S4]! - e2 * e2;
    if (this.tracksExtremes[w] && (removed === stats[b + MIN] || removed === stats[b + MAX])) {
      const start = (at + 1) % size;
      stats[b + MIN] = scanMin(samples, sampleBase, size, start, n - 1);
      stats[b + MAX] = scanMax(samples, sampleBase, size, start, n - 1);
    }
  }

  /** Takes the value as values[featureIndex], not as a number: a double argument would be boxed per call. */
  private pushSample(
    chunk: Chunk,
    local: number,
    w: number,
    values: Float64Array,
    featureIndex: number,
  ): void {
    const size = this.specs[w]!.size;
    const c = (local * this.specs.length + w) * COUNTERS;
    const b = (local * this.specs.length + w) * STATS;
    const sampleBase = local * this.samplesPerMachine + this.offsets[w]!;
    const { counters, stats, samples } = chunk;
    const n = counters[c + COUNT]!;
    const head = counters[c + HEAD]!;
    // Exactly what the Float32 slab stores, so eviction subtracts what was added.
    const x = Math.fround(values[featureIndex]!);
    if (n === 0) {
      stats[b + K] = x;
      stats[b + MIN] = x;
      stats[b + MAX] = x;
    }
    const y = x - stats[b + K]!;
    const y2 = y * y;
    if (n < size) {
      stats[b + ST] = stats[b + ST]! + n * y;
      stats[b + S1] = stats[b + S1]! + y;
      stats[b + S2] = stats[b + S2]! + y2;
      stats[b + S3] = stats[b + S3]! + y2 * y;
      stats[b + S4] = stats[b + S4]! + y2 * y2;
      samples[sampleBase + head] = x;
      counters[c + COUNT] = n + 1;
      counters[c + HEAD] = (head + 1) % size;
      if (x < stats[b + MIN]!) stats[b + MIN] = x;
      if (x > stats[b + MAX]!) stats[b + MAX] = x;
      // A time window may never fill; its sums are rebuilt exactly each time its ring wraps instead.
      if (counters[c + HEAD] === 0 || this.shiftIsStale(stats, b, n + 1))
        this.recompute(samples, sampleBase, size, oldest(head, n, size), n + 1, stats, b);
      return;
    }
    const evicted = samples[sampleBase + head]!;
    const e = evicted - stats[b + K]!;
    const e2 = e * e;
    stats[b + ST] = stats[b + ST]! - (stats[b + S1]! - e) + (size - 1) * y;
    stats[b + S1] = stats[b + S1]! - e + y;
    stats[b + S2] = stats[b + S2]! - e2 + y2;
    stats[b + S3] = stats[b + S3]! - e2 * e + y2 * y;
    stats[b + S4] = stats[b + S4]! - e2 * e2 + y2 * y2;
    samples[sampleBase + head] = x;
    const nextHead = (head + 1) % size;
    counters[c + HEAD] = nextHead;
    if (this.tracksExtremes[w]) this.updateExtremes(samples, sampleBase, size, stats, b, x, evicted);
    if (nextHead === 0 || this.shiftIsStale(stats, b, size))
      this.recompute(samples, sampleBase, size, nextHead, size, stats, b);
  }

  /**
   * True when the window mean has moved far from the shift K relative to the spread (a step change):
   * the fourth moment would then lose digits to cancellation, so the sums are rebuilt around the mean.
   */
  private shiftIsStale(stats: Float64Array, b: number, n: number): boolean {
    const mu = stats[b + S1]! / n;
    const mu2 = mu * mu;
    const m2 = stats[b + S2]! / n - mu2;
    const k = stats[b + K]!;
    return mu2 > 64 * m2 && mu2 > 1e-20 * k * k;
  }

  private updateExtremes(
    samples: Float32Array,
    base: number,
    size: number,
    stats: Float64Array,
    b: number,
    added: number,
    evicted: number,
  ): void {
    const min = stats[b + MIN]!;
    const max = stats[b + MAX]!;
    if (added <= min) stats[b + MIN] = added;
    else if (evicted === min) stats[b + MIN] = scanMin(samples, base, size, 0, size);
    if (added >= max) stats[b + MAX] = added;
    else if (evicted === max) stats[b + MAX] = scanMax(samples, base, size, 0, size);
  }

  /** Exact sums around the window mean for `n` samples, oldest at ring position `start`. */
  private recompute(
    samples: Float32Array,
    base: number,
    size: number,
    start: number,
    n: number,
    stats: Float64Array,
    b: number,
  ): void {
    let sum = 0;
    for (let t = 0; t < n; t++) sum += samples[base + ((start + t) % size)]!;
    const k = sum / n;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let s4 = 0;
    let st = 0;
    for (let t = 0; t < n; t++) {
      const y = samples[base + ((start + t) % size)]! - k;
      const y2 = y * y;
      s1 += y;
      s2 += y2;
      s3 += y2 * y;
      s4 += y2 * y2;
      st += t * y;
    }
    stats[b + K] = k;
    stats[b + S1] = s1;
    stats[b + S2] = s2;
    stats[b + S3] = s3;
    stats[b + S4] = s4;
    stats[b + ST] = st;
  }
}

/** Ring position of the oldest of `n` samples when the next write goes to `head`. */
function oldest(head: number, n: number, size: number): number {
  return (head - n + size) % size;
}

/** The smallest of `n` samples from ring position `start`. */
function scanMin(samples: Float32Array, base: number, size: number, start: number, n: number): number {
  let m = Infinity;
  for (let i = 0; i < n; i++) {
    const v = samples[base + ((start + i) % size)]!;
    if (v < m) m = v;
  }
  return m;
}

function scanMax(samples: Float32Array, base: number, size: number, start: number, n: number): number {
  let m = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = samples[base + ((start + i) % size)]!;
    if (v > m) m = v;
  }
  return m;
}
