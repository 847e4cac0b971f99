// The trainer end to end on real data, with real LightGBM (scripts/python-trainer) and real
// onnxruntime-node: 20 C-MAPSS FD001 engines as JSON lines → `train` → `score`. The runtime's
// predictions on the held-out rows must equal LightGBM's own (no training/serving skew) and the
// artifact must pass the load check the operator runs before anything serves it.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readModelMetadata } from '../../contracts/onnx/onnxProto.ts';
import type { LoadCheckResult, ModelSpec } from '../../contracts/loadCheck.ts';
import { parseModelMetadata } from '../../runtimes/inference/scoring/modelMetadata.ts';
import { sha256Hex } from '../../runtimes/inference/scoring/artifact.ts';
import type { HoldoutRow, TrainReport } from '../../runtimes/trainer/train.ts';
import { repoRoot } from '../cluster/binaries.ts';
import { fd001Present, INPUTS, readFd001, writeCmapssFiles } from './cmapssFiles.ts';

const run = promisify(execFile);
const node24 = join(repoRoot, 'scripts', 'node24');
const trainer = join(repoRoot, 'runtimes', 'trainer', 'main.ts');
const SKEW = 1e-4;

const jsonLines = async <T>(file: string): Promise<T[]> =>
  (await readFile(file, 'utf8'))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as T);

/** The operator's load check: loadCheckMain.ts in a child process, the artifact on stdin. */
function loadCheck(artifact: Uint8Array, spec: ModelSpec): Promise<LoadCheckResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      node24,
      [join(repoRoot, 'runtimes/inference/scoring/loadCheckMain.ts'), JSON.stringify(spec)],
      (error, stdout) => (error ? reject(error) : resolve(JSON.parse(stdout) as LoadCheckResult)),
    );
    child.stdin!.end(artifact);
  });
}

describe.skipIf(!fd001Present())('trainer on C-MAPSS FD001 (20 engines)', () => {
  let dir: string;
  let files: Awaited<ReturnType<typeof writeCmapssFiles>>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'prognos-trainer-'));
    const engines = new Map([...readFd001()].filter(([engine]) => engine <= 20));
    files = await writeCmapssFiles(dir, engines);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const train = async (model: string, name: string, extra: string[] = []) => {
    const out = join(dir, `${name}.onnx`);
    const metrics = join(dir, `${name}.metrics.json`);
    const holdout = join(dir, `${name}.holdout.jsonl`);
    const args = ['train', '--fleet', files.fleet, '--model', model, '--readings', files.readings];
    args.push('--events', files.events, '--out', out, '--metrics', metrics);
    await run(node24, [trainer, ...args, '--holdout-predictions', holdout, ...extra], { cwd: dir });
    return {
      artifact: new Uint8Array(await readFile(out)),
      out,
      report: JSON.parse(await readFile(metrics, 'utf8')) as TrainReport,
      holdout: await jsonLines<HoldoutRow>(holdout),
    };
  };

  it('trains a RUL model the runtime scores exactly as LightGBM predicts, and that passes the load check', async () => {
    const { artifact, out, report, holdout } = await train(files.model, 'rul', ['--holdout', '0.25']);
    console.log(
      `trainer FD001 20 engines: ${report.rows.train} train / ${report.rows.holdout} holdout rows, ` +
        `holdout RMSE ${report.metrics && 'rmse' in report.metrics ? report.metrics.rmse.toFixed(2) : '?'}, ` +
        `skew ${report.skew?.toExponential(2)}, ${report.timings.totalSeconds} s`,
    );
    expect(report).toMatchObject({ task: 'regression', machines: { total: 20, holdout: 5 } });
    expect(report.rows.holdout).toBe(holdout.length);
    expect(report.skew).toBeLessThan(SKEW);
    // A sanity bound, not the benchmark: five engines, every cycle of their lives.
    expect(report.metrics && 'rmse' in report.metrics && report.metrics.rmse).toBeLessThan(20);

    // Independently of train's own evaluation: `score` replays the held-out engines' readings.
    const heldOut = new Set(holdout.map((h) => h.machineId));
    const readings = (await readFile(files.readings, 'utf8'))
      .split('\n')
      .filter((l) => l !== '' && heldOut.has((JSON.parse(l) as { engine_id: string }).engine_id));
    const heldOutReadings = join(dir, 'holdout.readings.jsonl');
    await writeFile(heldOutReadings, readings.join('\n') + '\n');
    const predictionsFile = join(dir, 'predictions.jsonl');
    await run(node24, [
      trainer,
      'score',
      ...['--fleet', files.fleet, '--model', files.model, '--artifact', out],
      ...['--readings', heldOutReadings, '--out', predictionsFile],
    ]);
    const predictions = await jsonLines<{ machineId: string; ts: number; score: number; rulCycles: number }>(
      predictionsFile,
    );
    expect(predictions).toHaveLength(holdout.length);
    const runtime = new Map(predictions.map((p) => [`${p.machineId}@${p.ts}`, p.rulCycles]));
    const skew = Math.max(
      ...holdout.map((h) => Math.abs(runtime.get(`${h.machineId}@${h.ts}`)! - h.lightgbm)),
    );
    expect(skew).toBeLessThan(SKEW);

    const spec: ModelSpec = {
      version: 'v2',
      uri: 'file:///rul.onnx',
      sha256: sha256Hex(artifact),
      task: 'regression',
      inputs: INPUTS,
    };
    expect(await loadCheck(artifact, spec)).toEqual({ ok: true });
    // The baseline drift detection and telemetry read: bins and the training rows over them.
    const { baseline } = parseModelMetadata(readModelMetadata(artifact), INPUTS.length);
    expect(baseline?.inputs).toEqual(INPUTS);
    for (const input of ['t30.mean', 'ps30', 't24.count_since_maintenance']) {
      expect(baseline?.bins?.[input]?.length).toBeGreaterThanOrEqual(2);
      expect(baseline?.histograms?.[input]?.reduce((a, b) => a + b, 0)).toBe(report.rows.train);
    }
    const training = JSON.parse(readModelMetadata(artifact).get('prognos.training')!) as TrainReport;
    expect(training.rows).toEqual(report.rows);
  });

  it('trains a failure-within-30-cycles classifier on a time-ordered holdout', async () => {
    const model = join(dir, 'classifier.yaml');
    const yaml = (await readFile(files.model, 'utf8'))
      .replace('task: regression', 'task: classification')
      .replace('warning: 50, critical: 20', 'warning: 0.5, critical: 0.8');
    await writeFile(model, yaml);
    const { artifact, report } = await train(model, 'classifier', ['--horizon', '30', '--rounds', '150']);
    console.log(
      `trainer FD001 classifier: ${JSON.stringify(report.metrics)}, skew ${report.skew?.toExponential(2)}`,
    );
    expect(report.task).toBe('classification');
    expect(report.skew).toBeLessThan(SKEW);
    expect(report.metrics && 'f1' in report.metrics && report.metrics.f1).toBeGreaterThan(0.7);
    const spec: ModelSpec = {
      version: 'c1',
      uri: 'file:///c.onnx',
      sha256: sha256Hex(artifact),
      task: 'classification',
      inputs: INPUTS,
    };
    expect(await loadCheck(artifact, spec)).toEqual({ ok: true });
  });
});
