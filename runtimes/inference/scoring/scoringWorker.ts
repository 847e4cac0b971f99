// Worker thread that owns one onnxruntime-node session. onnxruntime-node runs a session
// synchronously on the calling thread, so scoring here keeps the runtime's event loop free.
import { parentPort } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import type { WorkerReply, WorkerRequest } from './workerSession.ts';

let session: ort.InferenceSession | undefined;
const port = parentPort!;

port.on('message', async (request: WorkerRequest) => {
  const reply = (message: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);
  try {
    switch (request.type) {
      case 'load': {
        session = await ort.InferenceSession.create(request.bytes, request.options);
        reply({
          type: 'loaded',
          id: request.id,
          inputMetadata: [...session.inputMetadata],
          outputMetadata: [...session.outputMetadata],
        });
        return;
      }
      case 'run': {
        const input = new ort.Tensor('float32', request.rows, request.dims);
        const result = await session!.run({ [request.inputName]: input }, [request.outputName]);
        const data = result[request.outputName]!.data as Float32Array;
        // Copy out of ORT's buffer so it can be transferred without touching memory ORT owns.
        const out = data.slice();
        reply({ type: 'ran', id: request.id, data: out }, [out.buffer]);
        return;
      }
      case 'release': {
        await session?.release();
        session = undefined;
        reply({ type: 'released', id: request.id });
        return;
      }
    }
  } catch (error) {
    reply({ type: 'error', id: request.id, message: (error as Error).message });
  }
});
