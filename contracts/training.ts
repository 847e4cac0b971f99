// The contract between the RetrainPolicy controller and the trainer it runs as a Job: the one
// environment variable the operator sets on the `trainer` container, and the JSON the trainer writes
// to its termination message. Both sides import this module, so a field renamed on one side fails
// to compile on the other.

/** Name of the pod template's container the operator fills in (and users may customise). */
export const TRAINER_CONTAINER = 'trainer';
/** Environment variable carrying a JSON `TrainingRequest`. */
export const TRAINING_REQUEST_ENV = 'PROGNOS_TRAINING_REQUEST';
/** Where the trainer writes its `TrainingResult` (the container's terminationMessagePath). */
export const TERMINATION_MESSAGE_PATH = '/dev/termination-log';
/**
 * Overrides TERMINATION_MESSAGE_PATH where containers are local processes without their own
 * filesystem (the test cluster's pod runner sets it to each container's own file).
 */
export const TERMINATION_MESSAGE_PATH_ENV = 'PROGNOS_TERMINATION_MESSAGE_PATH';
/** Object store bucket on the fleet's NATS that candidates are uploaded to. */
export const MODELS_BUCKET = 'prognos-models';
/** Kubernetes keeps at most 4096 bytes of a termination message; the result must fit. */
export const MAX_TERMINATION_MESSAGE_BYTES = 4096;

export interface ArtifactReference {
  version: string;
  uri: string;
  sha256: string;
}

/** What to train: set by the operator as JSON in PROGNOS_TRAINING_REQUEST. */
export interface TrainingRequest {
  namespace: string;
  policy: string;
  /** The SensorFleet manifest and the MaintenanceModel manifest, as the API server returned them. */
  fleet: unknown;
  model: unknown;
  /** The version the stable serves; the trainer scores it on the same holdout. */
  stable?: ArtifactReference;
  /** Version label for the candidate, unique per run, e.g. `<model>-rt-<n>`. */
  candidateVersion: string;
  /** Readings (and maintenance events) from this far back are replayed, in milliseconds. */
  dataWindowMs: number;
  /** The evaluation metric the gate compares (f1, precision, recall, rmse, mae). */
  metric: string;
  /** Object store bucket the candidate is uploaded to (MODELS_BUCKET unless configured). */
  bucket: string;
}

/** What the trainer reports: JSON in its termination message. */
export interface TrainingResult {
  candidate: ArtifactReference;
  metric: string;
  /** The candidate's and the stable's value of `metric` on the same holdout (stable absent when none served). */
  candidateMetric: number;
  stableMetric?: number;
  rows: { train: number; holdout: number };
  /** Set when the stream retains less than the requested data window. */
  warning?: string;
}
