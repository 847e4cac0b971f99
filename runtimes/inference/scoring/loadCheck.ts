// The runtime's own model load, run once on an artifact before anything serves it: ONNX Runtime
// creates a session (every operator has a kernel), the signature fits the configured inputs, task
// and output, and one row of zeros runs. The operator calls it through loadCheckMain.ts, in a
// throwaway process, so a model that crashes or bloats ONNX Runtime cannot take the operator along.
import type { LoadCheckResult, ModelSpec } from '../../../contracts/loadCheck.ts';
import { ArtifactError } from './artifact.ts';
import { loadModel } from './model.ts';

export async function checkLoad(bytes: Uint8Array, spec: ModelSpec): Promise<LoadCheckResult> {
  let model;
  try {
    model = await loadModel(bytes, spec, { intraOpThreads: 1, interOpThreads: 1, worker: false });
  } catch (error) {
    if (error instanceof ArtifactError) return { ok: false, reason: error.reason, message: error.message };
    throw error;
  }
  try {
    await model.run(new Float32Array(model.rowWidth), 1);
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: 'run_failed', message: (error as Error).message };
  } finally {
    await model.release();
  }
}
