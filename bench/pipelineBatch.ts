// Cost of one pipeline batch of 256: the runtime's path (processEncoded, as the pipeline worker thread
// runs it: CPU µs per reading), and process() scoring in-process and in a worker thread: event-loop blocking
// (decode, windows, rows, results, plus the ORT run when in-process), ORT run time with and without
// occlusion contributions, CPU per batch, throughput of the core alone and event-loop delay p99
// while batches run back to back. Prints one JSON object.
// Run: scripts/node24 bench/pipelineBatch.ts
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { sha256Hex } from '../runtimes/inference/scoring/artifact.ts';
import { parseRuntimeConfig } from '../contracts/runtimeConfig.ts';
import { buildMlpClassifier, randomLayers } from '../contracts/onnx/buildModel.ts';
import type { HistogramSnapshot } from '../contracts/telemetry.ts';
import { createPipeline, type PipelineMessage } from '../runtimes/inference/pipeline/pipeline.ts';

const BATCH = Number(process.env.BATCH ?? 256);
const MACHINES = 5_000;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const features = ['vibration', 'temperature', 'pressure', 'current'];
const aggregations = ['mean', 'std', 'rms', 'kurtosis', 'slope', 'min', 'max'] as const;
const inputs = [...features, ...features.flatMap((f) => aggregations.map((a) => `${f}.${a}`))];

const built = buildMlpClassifier(randomLayers([inputs.length, 64, 64, 1], 3));
const dir = await mkdtemp(join(tmpdir(), 'bench-'));
await writeFile(join(dir, 'm.onnx'), built.bytes);

function config(explain: boolean, worker: boolean) {
  return parseRuntimeConfig({
    namespace: 'bench',
    fleet: 'pumps',
    model: 'pump',
    version: 'v1',
    role: 'stable',
    task: 'classification',
    nats: { servers: ['nats://127.0.0.1:4222'] },
    input: { mode: 'core', subject: 'p.*.r', machineId: { subjectToken: 2 } },
    schema: {
      timestampFormat: 'UnixMillis',
      features: features.map((name) => ({ name, min: -1000, max: 1000 })),
    },
    windows: features.map((feature) => ({ feature, size: 60, aggregations })),
    artifact: { uri: pathToFileURL(join(dir, 'm.onnx')).href, sha256: sha256Hex(built.bytes), inputs },
    thresholds: { warning: 0.5, critical: 0.8 },
    explain: { enabled: explain },
    ort: { worker },
  });
}

const enc = new TextEncoder();
function batch(b: number): PipelineMessage[] {
  const now = Date.now();
  return Array.from({ length: BATCH }, (_, i) => {
    const k = b * BATCH + i;
    const body = {
      ts: now,
      vibration: Math.sin(k),
      temperature: 60 + (k % 7),
      pressure: 3 + Math.cos(k),
      current: 10,
    };
    return { subject: `p.m${k % MACHINES}.r`, data: enc.encode(JSON.stringify(body)), receivedAt: now };
  });
}

/** Upper edge of the bucket holding the p-quantile (the pipeline's own histogram, warm-up included). */
function bucketPercentile(h: HistogramSnapshot, p: number): number | null {
  let seen = 0;
  for (let i = 0; i < h.counts.length; i++) {
    seen += h.counts[i]!;
    if (seen >= p * h.count) return h.edges[i] ?? null;
  }
  return null;
}

async function measure(explain: boolean, worker: boolean) {
  const pipeline = await createPipeline(config(explain, worker));
  const batches = Array.from({ length: 50 }, (_, b) => batch(b));
  for (let b = 0; b < 50; b++) await pipeline.process(batches[b]!); // warm windows and the JIT
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  let readings = 0;
  let batchesRun = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  for (let b = 0; performance.now() - started < SECONDS * 1000; b++) {
    await pipeline.process(batches[b % 50]!);
    readings += BATCH;
    batchesRun += 1;
  }
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  delay.disable();
  const stats = pipeline.stats();
  await pipeline.close();
  return {
    readingsPerSec: Math.round(readings / elapsed),
    // CPU time is what a batch costs; wall-clock figures also include waiting for a core on a shared machine.
    cpuMsPerBatch: +((cpu.user + cpu.system) / 1000 / batchesRun).toFixed(3),
    blockingMeanMs: +(stats.batchBlockingMs.sum / stats.batchBlockingMs.count).toFixed(3),
    blockingP50UpperMs: bucketPercentile(stats.batchBlockingMs, 0.5),
    blockingP99UpperMs: bucketPercentile(stats.batchBlockingMs, 0.99),
    ortRunMeanMs: +(stats.ortRunMs.sum / stats.ortRunMs.count).toFixed(3),
    eventLoopDelayP99Ms: +(delay.percentile(99) / 1e6).toFixed(3),
  };
}

/**
 * The production path: processEncoded() as the pipeline worker thread runs it (session in-process on
 * that thread, predictions encoded to one buffer). CPU per reading is what the worker spends.
 */
async function measureEncoded(explain: boolean) {
  const pipeline = await createPipeline(config(explain, false));
  const batches = Array.from({ length: 50 }, (_, b) => batch(b));
  for (let b = 0; b < 50; b++) await pipeline.processEncoded(batches[b]!);
  let readings = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  for (let b = 0; performance.now() - started < SECONDS * 1000; b++) {
    await pipeline.processEncoded(batches[b % 50]!);
    readings += BATCH;
  }
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const stats = pipeline.stats();
  await pipeline.close();
  return {
    readingsPerSec: Math.round(readings / elapsed),
    cpuUsPerReading: +((cpu.user + cpu.system) / readings).toFixed(2),
    ortRunMeanMs: +(stats.ortRunMs.sum / stats.ortRunMs.count).toFixed(3),
  };
}

const results = {
  pipelineWorkerPath: {
    withoutContributions: await measureEncoded(false),
    withOcclusionContributions: await measureEncoded(true),
  },
  inProcess: {
    withoutContributions: await measure(false, false),
    withOcclusionContributions: await measure(true, false),
  },
  worker: {
    withoutContributions: await measure(false, true),
    withOcclusionContributions: await measure(true, true),
  },
};
console.log(
  JSON.stringify({
    batch: BATCH,
    inputs: inputs.length,
    model: `mlp ${inputs.length}-64-64-1`,
    ...results,
    // One occlusion variant per sensor feature (the default explain.granularity), behind each row.
    occlusionRowsPerBatch: BATCH * (1 + features.length),
    targetBlockingMs: 2,
    loadAverage1m: (await import('node:os')).loadavg()[0],
  }),
);
