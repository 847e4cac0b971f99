/**
 * What drift detection hands the RetrainPolicy controller: per watched model input (and the score
 * distribution, under the name `score`), its distance from the serving model's training baseline
 * over the policy's window, the threshold it is judged against and since when it has crossed it.
 * Computed by the drift detector from the runtimes' telemetry; read by the triggers and written
 * (bounded) into RetrainPolicy status.
 */
import type { DRIFT_METHODS } from '../../../api/retrainPolicy.ts';

export type DriftMethod = (typeof DRIFT_METHODS)[number];

export interface FeatureDrift {
  /** A model input name, or `score` for the prediction distribution. */
  name: string;
  method: DriftMethod;
  /** The method's distance between the window and the baseline. */
  score: number;
  /** The threshold the score is judged against, after any autocorrelation correction. */
  threshold: number;
  /** Readings in the window the score is computed on. */
  samples: number;
  /** What those readings are worth once autocorrelation is accounted for (effectiveSampleSize.ts). */
  effectiveSamples?: number;
  drifting: boolean;
  /** RFC 3339 time the feature first crossed and has stayed above its threshold. */
  since?: string;
}

export interface DriftAssessment {
  /** RFC 3339 time of the assessment. */
  time: string;
  /** The model version whose baseline the window was compared with. */
  version: string;
  /** false while the window holds fewer than minSamples readings: no verdict either way. */
  judged: boolean;
  /** Why the assessment is not judged (no baseline, too few readings). */
  reason?: string;
  drifting: boolean;
  /** Every watched feature, the most drifting first. */
  features: FeatureDrift[];
}
