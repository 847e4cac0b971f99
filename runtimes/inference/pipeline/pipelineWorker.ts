// Worker thread that owns the runtime's one loaded model and the pipelines over it: the NATS-fed one
// (decoding, split, windows, feature rows, the ORT session in-process here, contributions, alert
// tracking and prediction JSON) and its gRPC sibling (own windows, no split; see Pipeline.sibling).
// The main thread keeps only I/O: per NATS batch it sends one transferable buffer of raw readings
// and gets back one buffer of encoded predictions plus the per-message dispositions; per gRPC call
// it sends the call's readings and gets back their outcomes.
// Protocol: pipelineHost.ts. Batches and control messages are handled strictly in arrival order; a
// gRPC call does not wait behind queued NATS batches (it runs as soon as the thread is free).
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { WORKER_HEARTBEAT_INTERVAL_MS, type RuntimeConfig } from '../../../contracts/runtimeConfig.ts';
import { createPipeline, type Pipeline, type PipelineMessage } from './pipeline.ts';
import type { HostRequest, WorkerEvent } from './pipelineHost.ts';

const port = parentPort!;

/**
 * Scoring runs at a lower CPU priority than the rest of the process (Linux: nice is per thread, and
 * setpriority accepts a thread id): on a small node the event loop, which publishes and acks, and
 * nats-server then get a core as soon as they need one, and the scorer takes what is left. Best
 * effort: without /proc/thread-self nothing changes.
 */
const SCORER_NICE = 5;
try {
  const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  if (Number.isInteger(tid) && tid > 0) setPriority(tid, SCORER_NICE);
} catch {
  // not Linux, or not permitted: keep the default priority
}
const { config } = workerData as { config: RuntimeConfig };
const STATS_INTERVAL_MS = 200;

const send = (event: WorkerEvent, transfer: ArrayBuffer[] = []): void => port.postMessage(event, transfer);

// Liveness: the host's /healthz fails when these stop (liveness.ts). A timer, so they stop exactly
// when this thread does not get back to its event loop.
setInterval(() => send({ type: 'heartbeat' }), WORKER_HEARTBEAT_INTERVAL_MS).unref();

const reads = new Map<number, { resolve: (bytes: Uint8Array) => void; reject: (error: Error) => void }>();
let nextRead = 0;
const readObject = (uri: string, maxBytes: number): Promise<Uint8Array> =>
  new Promise((resolve, reject) => {
    const id = nextRead++;
    reads.set(id, { resolve, reject });
    send({ type: 'readObject', id, uri, maxBytes });
  });

// The listener is attached before the model loads: a nats-os:// artifact is read through the host.
let chain: Promise<unknown> = Promise.resolve();
let lastStats = 0;
let trailingStats: NodeJS.Timeout | undefined;
port.on('message', (request: HostRequest) => {
  if (request.type === 'object') {
    const r = reads.get(request.id);
    reads.delete(request.id);
    if (request.bytes) r?.resolve(request.bytes);
    else r?.reject(new Error(request.error ?? 'object store read failed'));
    return;
  }
  if (request.type === 'block') {
    Atomics.wait(new Int32Array(request.signal), 0, 0);
    return;
  }
  if (request.type === 'predict') {
    void pipelineReady.then((pipeline) =>
      siblingOf(pipeline)
        .process(request.messages, { ignoreSplit: true })
        .then(
          (result) => send({ type: 'predicted', id: request.id, outcomes: result.outcomes }),
          (error: Error) => send({ type: 'predicted', id: request.id, error: error.message }),
        ),
    );
    return;
  }
  if (request.type === 'swap') {
    // Loads beside the serving model; the pipeline switches between batches.
    void pipelineReady.then((pipeline) =>
      pipeline.swapModel(request.artifact).then(
        (state) => send({ type: 'swapped', id: request.id, state }),
        (error: Error) => send({ type: 'swapped', id: request.id, error: error.message }),
      ),
    );
    return;
  }
  chain = chain.then(() => handle(request));
});

let grpcPipeline: Pipeline | undefined;
const siblingOf = (pipeline: Pipeline): Pipeline => (grpcPipeline ??= pipeline.sibling());

async function handle(
  request: Exclude<HostRequest, { type: 'object' | 'swap' | 'block' | 'predict' }>,
): Promise<void> {
  const pipeline = await pipelineReady;
  switch (request.type) {
    case 'batch': {
      try {
        const subjects = request.subjects.split('\n');
        const messages: PipelineMessage[] = new Array(subjects.length);
        let start = 0;
        for (let i = 0; i < subjects.length; i++) {
          const end = request.ends[i]!;
          messages[i] = {
            subject: subjects[i]!,
            data: request.data.subarray(start, end),
            receivedAt: request.receivedAt[i]!,
            ...(request.redelivered[i] ? { redelivered: true } : {}),
          };
          start = end;
        }
        const batch = await pipeline.processEncoded(messages, request.encode);
        // Dead letters hold views into the transferred input: copy them out so only their bytes are cloned.
        for (const d of batch.deadLetters) d.data = d.data.slice();
        const now = performance.now();
        const stats = now - lastStats >= STATS_INTERVAL_MS ? pipeline.stats() : undefined;
        if (stats) lastStats = now;
        // When batches stop, the last ones still reach the host's snapshot shortly after.
        else
          trailingStats ??= setTimeout(() => {
            trailingStats = undefined;
            lastStats = performance.now();
            send({ type: 'stats', id: -1, stats: pipeline.stats() });
          }, STATS_INTERVAL_MS);
        send({ type: 'batch', id: request.id, batch, stats }, [
          batch.predictionBytes.buffer as ArrayBuffer,
          batch.predictionEnds.buffer as ArrayBuffer,
          batch.dispositions.buffer as ArrayBuffer,
        ]);
      } catch (error) {
        send({ type: 'batch', id: request.id, error: (error as Error).message });
      }
      return;
    }
    case 'split':
      pipeline.setSplit(request.split);
      return;
    case 'alertStates':
      pipeline.restoreAlerts(
        request.states.map(([id, state]) => [id, state ?? undefined] as const),
        request.handedOut,
      );
      return;
    case 'maintenance':
      pipeline.markMaintenance(request.machineId);
      siblingOf(pipeline).markMaintenance(request.machineId);
      return;
    case 'stats':
      lastStats = performance.now();
      send({ type: 'stats', id: request.id, stats: pipeline.stats() });
      return;
    case 'close':
      await pipeline.close();
      send({ type: 'closed', id: request.id });
      return;
  }
}

const pipelineReady = createPipeline(
  // Already off the event loop: the session runs in this thread.
  { ...config, ort: { ...config.ort, worker: false } },
  { readObject, onServingChange: (state) => send({ type: 'serving', state }) },
);
void pipelineReady.then(
  (pipeline) => send({ type: 'ready', serving: pipeline.serving(), stats: pipeline.stats() }),
  (error: Error) => send({ type: 'failed', error: error.message }),
);
