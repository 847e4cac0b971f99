// C-MAPSS FD001 through the trainer on files (not yet through NATS and a Job): an engine-wise split
// with a fixed seed, 80 engines to train (run to failure), 20 to validate. Each validation engine is
// cut at a seeded random cycle, as NASA's test set is, and scored by the runtime (`score`); RMSE and
// PHM08 at each one's last cycle against its true RUL capped at 125. Also at the failure cycle
// (uncut engines, true RUL 0). Prints one JSON object.
//   scripts/node24 bench/trainerQuality.ts [--seed 1] [--rounds 300] [--params '{...}']
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { phm08 } from '../runtimes/trainer/metrics.ts';
import { score } from '../runtimes/trainer/score.ts';
import { holdoutMachines, train } from '../runtimes/trainer/train.ts';
import { engineId, readFd001, readingLine, writeCmapssFiles } from '../test/integration/cmapssFiles.ts';

const CAP = 125;
const { values } = parseArgs({
  options: { seed: { type: 'string' }, rounds: { type: 'string' }, params: { type: 'string' } },
});
const seed = Number(values.seed ?? 1);
const engines = readFd001();
const validation = holdoutMachines(
  [...engines.keys()].map((e) => String(e)),
  0.2,
  seed,
);
const dir = await mkdtemp(join(tmpdir(), 'prognos-quality-'));
try {
  const trainEngines = new Map([...engines].filter(([e]) => !validation.has(String(e))));
  const files = await writeCmapssFiles(dir, trainEngines);
  const started = performance.now();
  const { artifact, report } = await train({
    ...files,
    version: 'fd001',
    rulCap: CAP,
    rulUnit: { cycles: 1 },
    horizon: { cycles: 30 },
    holdout: 0,
    seed,
    rounds: Number(values.rounds ?? 300),
    params: values.params ? (JSON.parse(values.params) as Record<string, unknown>) : {},
  });
  const trainSeconds = (performance.now() - started) / 1000;
  await writeFile(join(dir, 'model.onnx'), artifact);

  // Cut points: uniform over [31, life − 1] (a full 30-cycle window, at least one cycle short of failure).
  let state = seed >>> 0;
  const next = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const lastOf = async (cut: (life: number) => number) => {
    const truth = new Map<string, number>();
    const lines: string[] = [];
    for (const e of [...validation].map(Number).sort((a, b) => a - b)) {
      const cycles = engines.get(e)!;
      const end = cut(cycles.length);
      truth.set(engineId(e), Math.min(CAP, cycles.length - end));
      for (const c of cycles) if (c.cycle <= end) lines.push(readingLine(c));
    }
    await writeFile(join(dir, 'validation.jsonl'), lines.join('\n') + '\n');
    const out = join(dir, 'predictions.jsonl');
    await score({
      ...files,
      artifact: join(dir, 'model.onnx'),
      readings: join(dir, 'validation.jsonl'),
      out,
    });
    const last = new Map<string, number>();
    for (const line of (await readFile(out, 'utf8')).split('\n').filter(Boolean)) {
      const p = JSON.parse(line) as { machineId: string; rulCycles: number };
      last.set(p.machineId, p.rulCycles);
    }
    const ids = [...truth.keys()];
    const predicted = ids.map((id) => last.get(id)!);
    const actual = ids.map((id) => truth.get(id)!);
    const rmse = Math.sqrt(predicted.reduce((s, p, i) => s + (p - actual[i]!) ** 2, 0) / ids.length);
    return {
      engines: ids.length,
      rmse,
      phm08: phm08(predicted, actual),
      meanTrueRul: actual.reduce((a, b) => a + b, 0) / ids.length,
    };
  };
  const truncated = await lastOf((life) => 31 + Math.floor(next() * (life - 31)));
  const atFailure = await lastOf((life) => life);
  console.log(
    JSON.stringify(
      {
        dataset: 'C-MAPSS FD001 train file',
        split: `engine-wise, seed ${seed}: ${trainEngines.size} train / ${validation.size} validation`,
        validation: [...validation].map(Number).sort((a, b) => a - b),
        inputs: report.inputs.length,
        rows: report.rows.train,
        lightgbm: report.lightgbm,
        trainSeconds: Math.round(trainSeconds * 10) / 10,
        truncated: { ...truncated, target: { rmse: 11.0 } },
        atFailure,
      },
      null,
      2,
    ),
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
