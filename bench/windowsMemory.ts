// Memory and speed of the window store at fleet scale: 100,000 machines × 8 features × 60-sample
// windows with every aggregation. Prints one JSON object. Run: scripts/node24 --expose-gc bench/windowsMemory.ts
import { AGGREGATIONS } from '../contracts/runtimeConfig.ts';
import { WindowStore } from '../runtimes/inference/features/windows.ts';

const machines = Number(process.env.MACHINES ?? 100_000);
const features = 8;
const size = 60;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

const settle = () => {
  gc();
  gc();
  return process.memoryUsage();
};
const before = settle();
const store = new WindowStore(
  Array.from({ length: features }, (_, f) => ({ featureIndex: f, size, aggregations: AGGREGATIONS })),
  features,
);
const values = new Float64Array(features);
const ids = Array.from({ length: machines }, (_, i) => `machine-${i}`);
const fillStart = performance.now();
for (let round = 0; round < size; round++) {
  for (let m = 0; m < machines; m++) {
    for (let f = 0; f < features; f++) values[f] = 100 + f + Math.sin(m + round * 0.1 + f);
    store.push(ids[m]!, values, round);
  }
}
const fillMs = performance.now() - fillStart;
const after = settle();

// Steady-state cost per push (windows full, evictions and min/max rescans happening) and per aggregation.
const pushes = 1_000_000;
let t = performance.now();
for (let i = 0; i < pushes; i++) {
  for (let f = 0; f < features; f++) values[f] = 100 + Math.sin(i * 0.37 + f);
  store.push(ids[i % machines]!, values, size + i);
}
const pushNs = ((performance.now() - t) * 1e6) / pushes;
// A monotonic trend evicts the minimum on every push: the worst case for recompute-on-evict.
const trendPushes = 200_000;
t = performance.now();
for (let i = 0; i < trendPushes; i++) {
  for (let f = 0; f < features; f++) values[f] = i;
  store.push('machine-0', values, size + i);
}
const trendPushNs = ((performance.now() - t) * 1e6) / trendPushes;
let sink = 0;
t = performance.now();
const reads = 1_000_000;
for (let i = 0; i < reads; i++) sink += store.aggregate(i % machines, i % features, AGGREGATIONS[i % 7]!);
const aggregateNs = ((performance.now() - t) * 1e6) / reads;

const bytesPerMachine = (after.rss - before.rss) / machines;
console.log(
  JSON.stringify({
    machines,
    features,
    windowSize: size,
    rssBytes: after.rss,
    rssMB: Math.round(after.rss / 2 ** 20),
    bytesPerMachine: Math.round(bytesPerMachine),
    heapUsedDeltaBytesPerMachine: Math.round((after.heapUsed - before.heapUsed) / machines),
    arrayBuffersDeltaBytesPerMachine: Math.round((after.arrayBuffers - before.arrayBuffers) / machines),
    fillMs: Math.round(fillMs),
    pushNsPer8Features: Math.round(pushNs),
    monotonicTrendPushNsPer8Features: Math.round(trendPushNs),
    aggregateNs: Math.round(aggregateNs * 10) / 10,
    targetRssMB: 600,
    meetsTarget: after.rss <= 600 * 2 ** 20,
    gcExposed: typeof (globalThis as { gc?: unknown }).gc === 'function',
    sink: Number.isFinite(sink),
  }),
);
