// The main-thread side of pipelineWorker.ts: the runtime's pipelines (NATS-fed and gRPC) and its one
// loaded model, living in a worker thread.
// Per batch the main thread copies the raw readings into one buffer (transferred, not cloned) and
// gets back the encoded batch (predictions in one transferred buffer, dispositions, the rare alerts,
// dead letters and machine-health entries). Everything that costs CPU per reading runs in the
// worker, so the event loop only does NATS I/O, publishing and acking: it stays responsive, and the
// two run on two cores. Split changes, maintenance labels and batches reach the worker in order.
import { Worker } from 'node:worker_threads';
import type { ObjectStoreReader } from '../scoring/artifact.ts';
import type { RuntimeConfig } from '../../../contracts/runtimeConfig.ts';
import type { WorkerProgress } from '../serve/liveness.ts';
import type {
  ArtifactSpec,
  EncodedBatch,
  EncodeOptions,
  Outcome,
  PipelineStats,
  ServingState,
} from './pipeline.ts';
import type { Split } from '../../../contracts/split.ts';
import type { AlertState } from '../decision/alerts.ts';

export type HostRequest =
  | {
      type: 'batch';
      id: number;
      /** Subjects joined by newlines (subjects never contain whitespace). */
      subjects: string;
      data: Uint8Array;
      /** End offset of each message in data. */
      ends: Uint32Array;
      receivedAt: Float64Array;
      /** 1 where the message is a JetStream redelivery. */
      redelivered: Uint8Array;
      encode: EncodeOptions;
    }
  /** A gRPC call's readings, scored by the gRPC sibling pipeline. */
  | { type: 'predict'; id: number; messages: BatchInput[] }
  | { type: 'split'; split: Split | null }
  /** Alert states recorded by other replicas (or found at start-up); null is ok. */
  | { type: 'alertStates'; states: [string, AlertState | null][]; handedOut: boolean }
  | { type: 'maintenance'; machineId: string }
  | { type: 'swap'; id: number; artifact: ArtifactSpec }
  | { type: 'stats'; id: number }
  | { type: 'close'; id: number }
  | { type: 'object'; id: number; bytes?: Uint8Array; error?: string }
  /** Blocks the worker's thread until signal[0] becomes non-zero (tests: a stuck scorer). */
  | { type: 'block'; signal: SharedArrayBuffer };

export type WorkerEvent =
  | { type: 'ready'; serving: ServingState; stats: PipelineStats }
  | { type: 'failed'; error: string }
  | { type: 'heartbeat' }
  | { type: 'serving'; state: ServingState }
  | { type: 'batch'; id: number; batch?: EncodedBatch; stats?: PipelineStats | undefined; error?: string }
  | { type: 'predicted'; id: number; outcomes?: Outcome[]; error?: string }
  | { type: 'swapped'; id: number; state?: ServingState; error?: string }
  | { type: 'stats'; id: number; stats: PipelineStats }
  | { type: 'closed'; id: number }
  | { type: 'readObject'; id: number; uri: string; maxBytes: number };

export interface BatchInput {
  subject: string;
  data: Uint8Array;
  receivedAt: number;
  redelivered?: boolean;
}

export interface WorkerPipeline {
  processEncoded(messages: readonly BatchInput[], opts?: EncodeOptions): Promise<EncodedBatch>;
  /** Scores a gRPC call's readings on the gRPC windows, whatever the split; one outcome per reading, in order. */
  predict(messages: BatchInput[]): Promise<Outcome[]>;
  setSplit(split: Split | null): void;
  /** See Pipeline.restoreAlerts; applied in order with batches. */
  restoreAlerts(states: [string, AlertState | null][], handedOut: boolean): void;
  markMaintenance(machineId: string): void;
  swapModel(artifact: ArtifactSpec): Promise<ServingState>;
  serving(): ServingState;
  /** The latest snapshot the worker sent (at most ~200 ms old while batches flow). */
  stats(): PipelineStats;
  /** Asks the worker for a snapshot now (e.g. before the last telemetry message). */
  refreshStats(): Promise<PipelineStats>;
  /** The worker's last sign of life and its oldest unanswered batch, for /healthz. */
  progress(): WorkerProgress;
  /**
   * Blocks the worker's thread, as a scorer stuck in native code would, until the returned function
   * is called. For tests of liveness; nothing in the runtime calls it.
   */
  block(): () => void;
  close(): Promise<void>;
}

export interface WorkerPipelineDeps {
  readObject?: ObjectStoreReader;
  onServingChange?: (state: ServingState) => void;
  /** The worker died: in-flight batches were rejected (JetStream redelivers them). */
  onFailure?: (error: Error) => void;
}

type Pending = { resolve: (event: WorkerEvent) => void; reject: (error: Error) => void };

export async function startPipelineWorker(
  config: RuntimeConfig,
  deps: WorkerPipelineDeps = {},
): Promise<WorkerPipeline> {
  // Named, so per-thread CPU shows up as `pipeline` in /proc/<pid>/task/*/comm (the benchmark reads it).
  const worker = new Worker(new URL('./pipelineWorker.ts', import.meta.url), {
    workerData: { config },
    name: 'pipeline',
  });
  const pending = new Map<number, Pending>();
  let nextId = 0;
  let failure: Error | undefined;
  let closing = false;
  let serving: ServingState | undefined;
  let stats: PipelineStats | undefined;
  let ready: Pending | undefined;
  let lastHeartbeatAt = performance.now();
  // Hand-over time of each batch the worker has not answered, in id (so hand-over) order.
  const batchesAt = new Map<number, number>();
  const readyEvent = new Promise<WorkerEvent>((resolve, reject) => (ready = { resolve, reject }));

  const fail = (error: Error): void => {
    if (failure) return;
    failure = error;
    ready?.reject(error);
    for (const p of pending.values()) p.reject(error);
    pending.clear();
    if (!closing) deps.onFailure?.(error);
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`pipeline worker exited with code ${code}`)));
  worker.on('message', (event: WorkerEvent) => {
    // Any message shows the worker's thread runs; heartbeats cover the quiet times.
    lastHeartbeatAt = performance.now();
    switch (event.type) {
      case 'heartbeat':
        return;
      case 'ready':
        serving = event.serving;
        stats = event.stats;
        ready?.resolve(event);
        return;
      case 'failed':
        fail(new Error(event.error));
        return;
      case 'serving':
        serving = event.state;
        deps.onServingChange?.(event.state);
        return;
      case 'readObject': {
        const reply = (r: { bytes?: Uint8Array; error?: string }): void =>
          worker.postMessage({ type: 'object', id: event.id, ...r } satisfies HostRequest);
        if (!deps.readObject) reply({ error: 'no object store reader configured' });
        else
          deps.readObject(event.uri, event.maxBytes).then(
            (bytes) => reply({ bytes }),
            (e: Error) => reply({ error: e.message }),
          );
        return;
      }
      default: {
        if (event.type === 'batch' && event.stats) stats = event.stats;
        if (event.type === 'stats') stats = event.stats;
        const p = pending.get(event.id);
        pending.delete(event.id);
        p?.resolve(event);
      }
    }
  });

  const request = (
    message: HostRequest & { id: number },
    transfer: ArrayBuffer[] = [],
  ): Promise<WorkerEvent> => {
    if (failure) return Promise.reject(failure);
    return new Promise((resolve, reject) => {
      pending.set(message.id, { resolve, reject });
      worker.postMessage(message, transfer);
    });
  };
  const post = (message: HostRequest): void => {
    if (!failure) worker.postMessage(message);
  };

  await readyEvent;

  return {
    async processEncoded(messages, opts = {}) {
      const n = messages.length;
      let total = 0;
      for (let i = 0; i < n; i++) total += messages[i]!.data.byteLength;
      const data = new Uint8Array(total);
      const ends = new Uint32Array(n);
      const receivedAt = new Float64Array(n);
      const redelivered = new Uint8Array(n);
      let subjects = '';
      let at = 0;
      for (let i = 0; i < n; i++) {
        const m = messages[i]!;
        data.set(m.data, at);
        at += m.data.byteLength;
        ends[i] = at;
        receivedAt[i] = m.receivedAt;
        if (m.redelivered) redelivered[i] = 1;
        subjects += i === 0 ? m.subject : '\n' + m.subject;
      }
      const message: HostRequest = {
        type: 'batch',
        id: nextId++,
        subjects,
        data,
        ends,
        receivedAt,
        redelivered,
        encode: opts,
      };
      batchesAt.set(message.id, performance.now());
      const reply = await request(message, [
        data.buffer,
        ends.buffer,
        receivedAt.buffer,
        redelivered.buffer,
      ]).finally(() => batchesAt.delete(message.id));
      if (reply.type !== 'batch') throw new Error('pipeline worker: unexpected reply to a batch');
      if (!reply.batch) throw new Error(`pipeline worker: ${reply.error}`);
      return reply.batch;
    },
    async predict(messages) {
      const reply = await request({ type: 'predict', id: nextId++, messages });
      if (reply.type !== 'predicted' || !reply.outcomes)
        throw new Error(`pipeline worker: ${reply.type === 'predicted' ? reply.error : 'unexpected reply'}`);
      return reply.outcomes;
    },
    setSplit(split) {
      post({ type: 'split', split });
    },
    restoreAlerts(states, handedOut) {
      if (states.length > 0) post({ type: 'alertStates', states, handedOut });
    },
    markMaintenance(machineId) {
      post({ type: 'maintenance', machineId });
    },
    async swapModel(artifact) {
      const reply = await request({ type: 'swap', id: nextId++, artifact });
      if (reply.type !== 'swapped' || !reply.state)
        throw new Error(reply.type === 'swapped' ? reply.error : 'unexpected reply');
      return reply.state;
    },
    serving: () => serving!,
    stats: () => stats!,
    async refreshStats() {
      const reply = await request({ type: 'stats', id: nextId++ });
      if (reply.type === 'stats') stats = reply.stats;
      return stats!;
    },
    progress: () => ({ lastHeartbeatAt, oldestBatchAt: batchesAt.values().next().value }),
    block() {
      const signal = new SharedArrayBuffer(4);
      post({ type: 'block', signal });
      return () => {
        const flag = new Int32Array(signal);
        Atomics.store(flag, 0, 1);
        Atomics.notify(flag, 0);
      };
    },
    async close() {
      closing = true;
      try {
        await request({ type: 'close', id: nextId++ });
      } catch {
        // already gone
      }
      await worker.terminate();
    },
  };
}
