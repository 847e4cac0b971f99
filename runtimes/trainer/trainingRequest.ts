// The RetrainPolicy controller's TrainingRequest (contracts/training.ts) as the trainer Job reads it
// from PROGNOS_TRAINING_REQUEST: checked field by field, so a bad request fails the Job at once with
// a message naming the field, and the gate's metric is known to exist for the model's task before
// anything is fitted.
import type { Task } from '../../contracts/loadCheck.ts';
import type { ArtifactReference, TrainingRequest } from '../../contracts/training.ts';
import type { ClassificationMetrics, RegressionMetrics } from './metrics.ts';

/** The metrics each task's evaluation computes that a gate may compare. */
export const GATE_METRICS = {
  regression: ['rmse', 'mae'],
  classification: ['f1', 'precision', 'recall'],
} as const satisfies Record<Exclude<Task, 'anomaly'>, readonly string[]>;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isText = (v: unknown): v is string => typeof v === 'string' && v !== '';

function artifactReference(value: unknown, field: string): ArtifactReference {
  if (!isObject(value)) throw new Error(`${field}: expected {version, uri, sha256}`);
  const { version, uri, sha256 } = value;
  if (!isText(version)) throw new Error(`${field}.version: expected a non-empty string`);
  if (!isText(uri)) throw new Error(`${field}.uri: expected a non-empty string`);
  if (typeof sha256 !== 'string' || !/^[a-f0-9]{64}$/.test(sha256))
    throw new Error(`${field}.sha256: expected 64 lower-case hex digits`);
  return { version, uri, sha256 };
}

/** Parses the request's JSON; throws naming the first bad field. */
export function parseTrainingRequest(text: string | undefined, envName: string): TrainingRequest {
  if (text === undefined || text.trim() === '') throw new Error(`${envName} is not set`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${envName}: not JSON: ${(error as Error).message}`, { cause: error });
  }
  if (!isObject(value)) throw new Error(`${envName}: expected a JSON object`);
  const where = (field: string): string => `${envName}.${field}`;
  for (const field of ['namespace', 'policy', 'candidateVersion', 'metric', 'bucket'] as const)
    if (!isText(value[field])) throw new Error(`${where(field)}: expected a non-empty string`);
  for (const field of ['fleet', 'model'] as const)
    if (!isObject(value[field])) throw new Error(`${where(field)}: expected the ${field} manifest object`);
  const window = value['dataWindowMs'];
  if (typeof window !== 'number' || !Number.isSafeInteger(window) || window <= 0)
    throw new Error(`${where('dataWindowMs')}: expected a positive whole number of milliseconds`);
  const request = value as unknown as TrainingRequest;
  return {
    namespace: request.namespace,
    policy: request.policy,
    fleet: request.fleet,
    model: request.model,
    ...(value['stable'] !== undefined ? { stable: artifactReference(value['stable'], where('stable')) } : {}),
    candidateVersion: request.candidateVersion,
    dataWindowMs: window,
    metric: request.metric,
    bucket: request.bucket,
  };
}

/** Refuses a metric the task's evaluation does not compute (e.g. f1 for a RUL model). */
export function checkGateMetric(task: Task, metric: string): void {
  if (task === 'anomaly') return;
  const known: readonly string[] = GATE_METRICS[task];
  if (!known.includes(metric))
    throw new Error(`metric ${metric} is not computed for task ${task} (one of ${known.join(', ')})`);
}

/** The value of `metric` in a holdout evaluation. */
export function metricValue(metrics: RegressionMetrics | ClassificationMetrics, metric: string): number {
  const value = (metrics as unknown as Record<string, unknown>)[metric];
  if (typeof value !== 'number') throw new Error(`the evaluation has no metric ${metric}`);
  return value;
}

/** The object store name of a candidate: `<namespace>/<model>/<version>.onnx`. */
export function candidateObjectName(namespace: string, model: string, version: string): string {
  return `${namespace}/${model}/${version}.onnx`;
}
