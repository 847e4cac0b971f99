// The load-check protocol between the operator and the runtime: before anything serves an artifact,
// the operator runs the runtime's own model load (runtimes/inference/scoring/loadCheckMain.ts) in a
// throwaway process. The child reads the artifact's bytes on stdin and a ModelSpec as its argument,
// and prints one LoadCheckResult as JSON.
import type { RuntimeConfig } from './runtimeConfig.ts';

export type Task = RuntimeConfig['task'];

/** What a model artifact must be to serve a MaintenanceModel version. */
export interface ModelSpec {
  version: string;
  uri: string;
  sha256: string;
  task: Task;
  /** Configured input names, in model column order. */
  inputs: readonly string[];
  output?: string;
}

/** Why an artifact was refused before it could serve. */
export type ArtifactErrorReason = 'digest_mismatch' | 'fetch_failed' | 'invalid_onnx' | 'input_mismatch';

export type LoadCheckResult =
  { ok: true } | { ok: false; reason: ArtifactErrorReason | 'run_failed'; message: string };
