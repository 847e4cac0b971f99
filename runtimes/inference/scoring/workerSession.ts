// The main-thread side of scoringWorker.ts: an ORT session living in a worker thread, with the
// same metadata and a promise-based run. Requests are answered in order, one worker per model.
import { Worker } from 'node:worker_threads';
import type ort from 'onnxruntime-node';

type Metadata = readonly ort.InferenceSession.ValueMetadata[];

export type WorkerRequest =
  | { type: 'load'; id: number; bytes: Uint8Array; options: ort.InferenceSession.SessionOptions }
  | { type: 'run'; id: number; inputName: string; outputName: string; rows: Float32Array; dims: number[] }
  | { type: 'release'; id: number };

export type WorkerReply =
  | { type: 'loaded'; id: number; inputMetadata: Metadata; outputMetadata: Metadata }
  | { type: 'ran'; id: number; data: Float32Array }
  | { type: 'released'; id: number }
  | { type: 'error'; id: number; message: string };

/** The part of an ORT session the runtime uses, whether it runs in-process or in a worker. */
export interface ScoringSession {
  readonly inputMetadata: Metadata;
  readonly outputMetadata: Metadata;
  run(inputName: string, outputName: string, rows: Float32Array, dims: number[]): Promise<Float32Array>;
  release(): Promise<void>;
}

export async function createWorkerSession(
  bytes: Uint8Array,
  options: ort.InferenceSession.SessionOptions,
): Promise<ScoringSession> {
  const worker = new Worker(new URL('./scoringWorker.ts', import.meta.url));
  worker.unref(); // an idle scorer must not keep the process alive
  const pending = new Map<
    number,
    { resolve: (reply: WorkerReply) => void; reject: (error: Error) => void }
  >();
  let nextId = 0;
  let failure: Error | undefined;
  const failAll = (error: Error) => {
    failure = error;
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  };
  worker.on('message', (reply: WorkerReply) => {
    const p = pending.get(reply.id);
    if (!p) return;
    pending.delete(reply.id);
    if (reply.type === 'error') p.reject(new Error(reply.message));
    else p.resolve(reply);
  });
  worker.on('error', failAll);
  worker.on('exit', (code) => failAll(new Error(`scoring worker exited with code ${code}`)));
  const request = (message: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<WorkerReply> => {
    if (failure) return Promise.reject(failure);
    return new Promise((resolve, reject) => {
      pending.set(message.id, { resolve, reject });
      worker.ref(); // keep the process alive while a request is outstanding
      worker.postMessage(message, transfer);
    }).finally(() => pending.size === 0 && worker.unref()) as Promise<WorkerReply>;
  };
  let loaded: WorkerReply;
  try {
    loaded = await request({ type: 'load', id: nextId++, bytes, options });
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  if (loaded.type !== 'loaded') throw new Error('scoring worker: unexpected reply to load');
  return {
    inputMetadata: loaded.inputMetadata,
    outputMetadata: loaded.outputMetadata,
    async run(inputName, outputName, rows, dims) {
      const copy = rows.slice(); // transferred: the caller keeps its rows for post-processing
      const reply = await request({ type: 'run', id: nextId++, inputName, outputName, rows: copy, dims }, [
        copy.buffer,
      ]);
      if (reply.type !== 'ran') throw new Error('scoring worker: unexpected reply to run');
      return reply.data;
    },
    async release() {
      if (failure) return;
      try {
        await request({ type: 'release', id: nextId++ });
      } finally {
        await worker.terminate();
      }
    },
  };
}
