// `prognos-trainer score`: replays JSON-lines readings (and optional maintenance events) through the
// inference runtime's pipeline with a given artifact and writes its predictions as JSON lines, the
// same documents a runtime publishes on prognos.predictions.<ns>.<model>.<machine>.
import { readFile, writeFile } from 'node:fs/promises';
import { readEvents, readReadings } from './jsonLines.ts';
import { readManifests, runtimeConfigOf } from './manifests.ts';
import { buildTimeline } from './replay.ts';
import { scoreWithRuntime } from './runtimeScoring.ts';

export interface ScoreCommandOptions {
  fleet: string;
  model: string;
  artifact: string;
  readings: string;
  events?: string;
  out: string;
}

export async function score(opts: ScoreCommandOptions): Promise<{ predictions: number; rejected: number }> {
  const manifests = await readManifests(opts.fleet, opts.model);
  const [artifact, messages, events] = await Promise.all([
    readFile(opts.artifact),
    readReadings(opts.readings, manifests.fleet),
    opts.events ? readEvents(opts.events, manifests.fleet) : Promise.resolve([]),
  ]);
  const timeline = buildTimeline(runtimeConfigOf(manifests), messages, events, Date.now());
  const predictions = await scoreWithRuntime(manifests, new Uint8Array(artifact), timeline, {
    version: manifests.model.spec.model.version,
    explain: true,
  });
  await writeFile(opts.out, predictions.map((p) => JSON.stringify(p) + '\n').join(''));
  return { predictions: predictions.length, rejected: timeline.rejected };
}
