// The model a runtime serves: loaded once per process and shared by its pipelines (the NATS-fed one
// and its gRPC sibling). Swaps take effect between batches (ModelSlot); each loaded model carries its
// context (row builder, explanation method, encoder, feature histograms, occlusion baseline).
import { resolveInput } from '../../../contracts/modelInputs.ts';
import type { RuntimeConfig } from '../../../contracts/runtimeConfig.ts';
import type { ModelSpec } from '../../../contracts/loadCheck.ts';
import { createFeatureVectorBuilder, type FeatureVectorBuilder } from '../features/featureVector.ts';
import { Histogram } from '../features/histogram.ts';
import type { FeatureBins } from '../../../contracts/telemetry.ts';
import { createPredictionEncoder, type PredictionEncoder } from '../output/predictionEncoding.ts';
import { ArtifactError, fetchArtifact } from '../scoring/artifact.ts';
import { contributionGroups, type ContributionGroups } from '../scoring/contributions.ts';
import { loadModel, type LoadedModel } from '../scoring/model.ts';
import { ModelSlot } from '../scoring/modelSlot.ts';
import { explainMethodFor, type ExplainMethod } from '../scoring/scoring.ts';
import type { ArtifactSpec, PipelineDeps, ServingState } from './pipeline.ts';

export interface ModelContext {
  builder: FeatureVectorBuilder;
  method: ExplainMethod;
  /** What the contributions are keyed by (sensor features or model inputs). */
  groups: ContributionGroups;
  encoder: PredictionEncoder;
  features: Histogram[];
  featureBins: FeatureBins;
  /** The model's own baseline means, laid out as a row (repeated per time step for a sequence model). */
  baseline: Float64Array | undefined;
  /** Running means of scored rows: the occlusion baseline when the model carries none. */
  observed: { means: Float64Array; rows: number };
}

/** The model and its context for one batch; release() when the batch is done with them. */
export interface ServedLease {
  model: LoadedModel;
  context: ModelContext;
  release(): void;
}

export class ServedModel {
  readonly #config: RuntimeConfig;
  readonly #deps: PipelineDeps;
  readonly #slot = new ModelSlot();
  readonly #contexts = new WeakMap<LoadedModel, ModelContext>();
  #identityVersion: string;
  #lastError: ServingState['lastError'];
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(config: RuntimeConfig, deps: PipelineDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#identityVersion = config.version;
  }

  /** The version the rollout split knows this runtime by: the loaded model's, else the configured one. */
  get identityVersion(): string {
    return this.#identityVersion;
  }

  /** The model for one batch, or undefined when none serves (fallback rules apply). */
  acquire(): ServedLease | undefined {
    const lease = this.#slot.acquire();
    return lease && { model: lease.model, context: this.#contexts.get(lease.model)!, release: lease.release };
  }

  current(): { model: LoadedModel; context: ModelContext } | undefined {
    const model = this.#slot.current;
    return model && { model, context: this.#contexts.get(model)! };
  }

  /** Fetches, verifies and loads `artifact`, then swaps it in between batches. On failure the serving model stays and this rejects with an ArtifactError. */
  async swap(artifact: ArtifactSpec): Promise<ServingState> {
    const configured = this.#config.artifact;
    const spec: ModelSpec = {
      version: artifact.version,
      uri: artifact.uri,
      sha256: artifact.sha256,
      task: this.#config.task,
      inputs: artifact.inputs ?? configured?.inputs ?? [],
    };
    const output = artifact.output ?? (artifact.inputs ? undefined : configured?.output);
    if (output !== undefined) spec.output = output;
    let model: LoadedModel;
    let builder: FeatureVectorBuilder;
    try {
      if (spec.inputs.length === 0)
        throw new ArtifactError('input_mismatch', spec.uri, 'no inputs given and none configured');
      const bytes = await fetchArtifact(
        { ...spec, ...(configured?.caFile ? { caFile: configured.caFile } : {}) },
        { ...this.#deps, ...(configured?.maxBytes ? { maxBytes: configured.maxBytes } : {}) },
      );
      model = await loadModel(bytes, spec, this.#config.ort);
      // The row's layout depends on the model: [N, F] or a sequence model's [N, T, F].
      try {
        builder = createFeatureVectorBuilder(this.#config, spec.inputs, model.sequenceLength);
      } catch (error) {
        await model.release();
        throw new ArtifactError('input_mismatch', spec.uri, (error as Error).message);
      }
    } catch (error) {
      if (error instanceof ArtifactError) {
        this.#lastError = { reason: error.reason, message: error.message, version: spec.version };
        this.#deps.onServingChange?.(this.serving());
      }
      throw error;
    }
    this.#contexts.set(model, this.#contextFor(model, builder));
    this.#slot.swap(model);
    this.#identityVersion = model.version;
    this.#lastError = undefined;
    const state = this.serving();
    this.#deps.onServingChange?.(state);
    return state;
  }

  serving(): ServingState {
    const model = this.#slot.current;
    const state: ServingState = {
      modelServing: model !== undefined,
      explain: model ? this.#contexts.get(model)!.method : 'none',
    };
    if (model) {
      state.version = model.version;
      state.sha256 = model.sha256;
    }
    if (this.#lastError) state.lastError = this.#lastError;
    return state;
  }

  /** Fetches and loads `artifact` again after growing waits while nothing serves and it is unreachable. */
  retryFetch(
    artifact: ArtifactSpec,
    delays: { initialMs: number; maxMs: number },
    waitMs = delays.initialMs,
  ): void {
    this.#retryTimer = setTimeout(() => {
      if (this.#closed || this.#slot.current) return;
      this.swap(artifact).catch((error: unknown) => {
        if (error instanceof ArtifactError && error.reason === 'fetch_failed' && !this.#closed)
          this.retryFetch(artifact, delays, Math.min(waitMs * 2, delays.maxMs));
      });
    }, waitMs);
    this.#retryTimer.unref?.();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    await this.#slot.swap(undefined)?.release();
  }

  #contextFor(model: LoadedModel, builder: FeatureVectorBuilder): ModelContext {
    const bins = model.metadata.baseline?.bins;
    const schema = new Map(this.#config.schema.features.map((f) => [f.name, f]));
    const names = new Set(schema.keys());
    const features = model.inputs.map((name) => {
      const edges = bins?.[name];
      if (edges) return new Histogram(edges);
      // Without baseline bins, raw features with a declared range get ten equal bins over it.
      const input = resolveInput(name, names, this.#config.windows);
      const f = input.ok ? schema.get(input.feature) : undefined;
      const rangeApplies =
        input.ok && (input.kind !== 'window' || ['mean', 'min', 'max'].includes(input.aggregation));
      if (f && rangeApplies && f.min !== undefined && f.max !== undefined && f.max > f.min) {
        return new Histogram(Array.from({ length: 11 }, (_, i) => f.min! + ((f.max! - f.min!) * i) / 10));
      }
      return new Histogram([]);
    });
    const byInput = contributionGroups(model.inputs, this.#config.explain.granularity);
    // A sequence model's input j is column t·F + j of every time step t: occluded together.
    const steps = model.sequenceLength ?? 1;
    const f = model.inputs.length;
    const groups =
      steps === 1
        ? byInput
        : {
            names: byInput.names,
            members: byInput.members.map((m) =>
              Array.from({ length: steps }, (_, t) => m.map((j) => t * f + j)).flat(),
            ),
          };
    const means = model.metadata.baseline?.means;
    const baseline = means
      ? Float64Array.from({ length: model.rowWidth }, (_, c) => means[c % f]!)
      : undefined;
    return {
      builder,
      method: explainMethodFor(model, this.#config.explain.enabled, this.#config.explain.method),
      groups,
      encoder: createPredictionEncoder(groups.names, {
        model: this.#config.model,
        modelVersion: model.version,
        role: this.#config.role,
        fallback: false,
      }),
      features,
      featureBins: bins ? 'baseline' : 'schema',
      baseline,
      observed: { means: new Float64Array(model.rowWidth), rows: 0 },
    };
  }
}

/** The occlusion baseline: the model's own means, else the running means of the rows it scored. */
export function baselineFor(
  model: LoadedModel,
  context: ModelContext,
  rows: Float32Array,
  n: number,
): ArrayLike<number> {
  if (context.baseline) return context.baseline;
  const width = model.rowWidth;
  const observed = context.observed;
  const means = observed.means;
  for (let r = 0; r < n; r++) {
    observed.rows += 1;
    const w = 1 / observed.rows;
    for (let j = 0; j < width; j++) means[j]! += (rows[r * width + j]! - means[j]!) * w;
  }
  return means;
}
