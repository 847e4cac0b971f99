// Scores a timeline with an artifact through the inference runtime's own pipeline, exactly as a
// runtime configured from the same manifests would (decoder, windows, rows, ONNX Runtime, decisions).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RuntimeConfig } from '../../contracts/runtimeConfig.ts';
import { sha256Hex } from '../inference/scoring/artifact.ts';
import { createPipeline, type Prediction } from '../inference/pipeline/pipeline.ts';
import { runtimeConfigOf, type Manifests } from './manifests.ts';
import { scoreTimeline, type Timeline } from './replay.ts';

export interface ScoreOptions {
  version: string;
  /** Off for evaluation: contributions cost one ORT row per feature and do not change the score. */
  explain: boolean;
}

export async function scoreWithRuntime(
  manifests: Manifests,
  artifact: Uint8Array,
  timeline: Timeline,
  opts: ScoreOptions,
): Promise<Prediction[]> {
  const dir = await mkdtemp(join(tmpdir(), 'prognos-score-'));
  try {
    const file = join(dir, 'model.onnx');
    await writeFile(file, artifact);
    const { spec } = manifests.model;
    const configured = runtimeConfigOf(manifests, {
      version: opts.version,
      uri: pathToFileURL(file).href,
      sha256: sha256Hex(artifact),
      inputs: spec.model.inputs,
    });
    const config: RuntimeConfig = {
      ...configured,
      explain: { ...configured.explain, enabled: opts.explain && configured.explain.enabled },
    };
    const pipeline = await createPipeline(config, { now: () => timeline.receivedAt });
    try {
      const serving = pipeline.serving();
      // The pipeline would fall back to rules; scoring a file must fail instead.
      if (!serving.modelServing)
        throw new Error(
          `the runtime cannot serve the artifact: ${serving.lastError?.message ?? 'not loaded'}`,
        );
      return await scoreTimeline(pipeline, timeline, config.batching.maxBatch);
    } finally {
      await pipeline.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
