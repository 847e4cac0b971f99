/**
 * Drift detection for the RetrainPolicy controller: fed every telemetry summary the operator receives
 * (observe), told each verified version's training baseline (setBaseline, by the MaintenanceModel
 * reconciler), and asked for a verdict on the stable version (assess). Level-based like the rest of
 * the operator: an assessment is computed from the retained windows whenever it is asked for; only
 * the reference (first full window of a version) and the last assessment (for `since`) are kept.
 */
import type { Baseline } from '../../../../contracts/modelBaseline.ts';
import type { TelemetryMessage } from '../../../../contracts/telemetry.ts';
import { parseDuration } from '../../../api/duration.ts';
import type { DriftAssessment } from './assessment.ts';
import {
  assessDrift,
  DEFAULT_WINDOW,
  referenceOf,
  type AssessOptions,
  type DriftReference,
  type DriftTrigger,
} from './assessDrift.ts';
import { DriftWindows } from './window.ts';

/** Baselines kept per model: the stable, a candidate and the one before (insertion order evicts). */
const MAX_BASELINES = 4;

export class DriftDetector {
  readonly #windows: DriftWindows;
  readonly #options: AssessOptions;
  /** `<ns>/<model>` → version → baseline (undefined: verified, but carries none). */
  readonly #baselines = new Map<string, Map<string, Baseline | undefined>>();
  /** `<ns>/<model>/<version>/<window ms>` → reference. */
  readonly #references = new Map<string, DriftReference>();
  readonly #previous = new Map<string, DriftAssessment>();

  constructor(opts: { windows?: DriftWindows; assess?: AssessOptions } = {}) {
    this.#windows = opts.windows ?? new DriftWindows();
    this.#options = opts.assess ?? {};
  }

  /** Every telemetry summary; only the stable role's count (canaries and shadows are judged by rollouts). */
  observe(msg: TelemetryMessage): void {
    if (msg.role !== 'stable') return;
    this.#windows.record(msg);
  }

  /** Whether a version's baseline (or that it has none) is known. */
  hasBaseline(namespace: string, model: string, version: string): boolean {
    return this.#baselines.get(`${namespace}/${model}`)?.has(version) ?? false;
  }

  /** The training baseline of a verified version (undefined when its artifact has none). */
  setBaseline(namespace: string, model: string, version: string, baseline: Baseline | undefined): void {
    const key = `${namespace}/${model}`;
    let versions = this.#baselines.get(key);
    if (!versions) this.#baselines.set(key, (versions = new Map()));
    if (versions.has(version) && versions.get(version) === baseline) return;
    versions.delete(version);
    versions.set(version, baseline);
    if (versions.size > MAX_BASELINES) versions.delete(versions.keys().next().value!);
  }

  /**
   * The stable version's drift over the trigger's window, or undefined while no stable telemetry of
   * the model has arrived. The newest stable version seen is assessed (after a promotion, the new one).
   */
  assess(namespace: string, model: string, trigger: DriftTrigger, now: Date): DriftAssessment | undefined {
    const span = parseDuration(trigger.window ?? DEFAULT_WINDOW);
    this.#windows.retain(span);
    const version = this.#windows.latestVersion(namespace, model);
    if (version === undefined) return undefined;
    const w = this.#windows.window(namespace, model, version)!;
    const refKey = `${namespace}/${model}/${version}/${span}`;
    let reference = this.#references.get(refKey);
    if (!reference) {
      reference = referenceOf(w, trigger, now.getTime());
      if (reference) {
        for (const key of this.#references.keys())
          if (key.startsWith(`${namespace}/${model}/`)) this.#references.delete(key);
        this.#references.set(refKey, reference);
      }
    }
    const key = `${namespace}/${model}`;
    const assessment = assessDrift(
      this.#baselines.get(key)?.get(version),
      { version, firstSeen: w.firstSeen, intervals: w.intervals, ...(reference ? { reference } : {}) },
      trigger,
      now,
      this.#previous.get(key),
      this.#options,
    );
    this.#previous.set(key, assessment);
    return assessment;
  }

  /** Forgets a deleted model. */
  forget(namespace: string, model: string): void {
    const key = `${namespace}/${model}`;
    this.#windows.forget(namespace, model);
    this.#baselines.delete(key);
    this.#previous.delete(key);
    for (const k of this.#references.keys()) if (k.startsWith(`${key}/`)) this.#references.delete(k);
  }
}
