// prognos-trainer: trains LightGBM models on a fleet's readings and maintenance events and scores
// artifacts through the inference runtime, standalone on files (docs/trainer.md).
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parseDuration } from '../../operator/api/duration.ts';
import { score } from './score.ts';
import type { Span } from './targets.ts';
import { train } from './train.ts';

const USAGE = `Usage:
  prognos-trainer train --fleet fleet.yaml --model model.yaml --readings readings.jsonl --events events.jsonl
                        [--out model.onnx] [--metrics metrics.json] [options]
  prognos-trainer score --fleet fleet.yaml --model model.yaml --artifact model.onnx --readings readings.jsonl
                        [--events events.jsonl] [--out predictions.jsonl]

train fits LightGBM (the model's task: regression = remaining useful life, classification = failure
within a horizon) on feature rows built by the inference runtime's own window code, exports an ONNX
tree ensemble with its training baseline in the metadata, scores the holdout through the runtime's
pipeline and writes the artifact and a metrics JSON (also printed).

score replays readings (and maintenance events) through the runtime's pipeline with the artifact and
writes one prediction JSON per line, as a runtime publishes them.

Readings: one JSON reading per line, as published on NATS, or {"subject": "...", "data": {...}} when
the fleet finds machine ids in a subject token. Events: one maintenance event per line,
{"machineId", "event": "failure"|"repair"|"maintenance"|"inspection", "ts": <epoch ms>}.

train options:
  --version v          candidate version label (default: candidate)
  --rul-cap n          RUL cap (default 125)
  --rul-unit u         cycles (default: readings until the failure) or a duration (1h, 1d): RUL in that unit
  --horizon h          classification: failure within h cycles (default 30) or a duration (2d)
  --holdout f          share of machines (regression) or of the time span (classification) held out (default 0.2)
  --seed n             split and LightGBM seed (default 1)
  --rounds n           boosting rounds (default 300)
  --params json        LightGBM parameters, e.g. '{"num_leaves": 15, "learning_rate": 0.05}'
  --stable file        the serving artifact, scored on the same holdout for comparison
  --holdout-predictions file
                       write each holdout row as JSON: machineId, ts, target, lightgbm, runtime
  -h, --help           this help
`;

/** `cycles`, a number of cycles, or a duration. */
function span(text: string, numberMeans: 'cycles'): Span {
  if (text === 'cycles') return { cycles: 1 };
  if (/^[0-9]+(\.[0-9]+)?$/.test(text)) return { [numberMeans]: Number(text) } as Span;
  return { ms: parseDuration(text) };
}

function number(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!Number.isFinite(v)) throw new Error(`--${name}: not a number: ${text}`);
  return v;
}

function required(values: Record<string, unknown>, names: string[]): void {
  const missing = names.filter((n) => values[n] === undefined);
  if (missing.length > 0) throw new Error(`missing ${missing.map((n) => `--${n}`).join(', ')}`);
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      fleet: { type: 'string' },
      model: { type: 'string' },
      readings: { type: 'string' },
      events: { type: 'string' },
      artifact: { type: 'string' },
      out: { type: 'string' },
      metrics: { type: 'string' },
      version: { type: 'string' },
      'rul-cap': { type: 'string' },
      'rul-unit': { type: 'string' },
      horizon: { type: 'string' },
      holdout: { type: 'string' },
      seed: { type: 'string' },
      rounds: { type: 'string' },
      params: { type: 'string' },
      stable: { type: 'string' },
      'holdout-predictions': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0];
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  if (command === 'train') {
    required(values, ['fleet', 'model', 'readings', 'events']);
    const { artifact, report, holdout } = await train({
      fleet: values.fleet!,
      model: values.model!,
      readings: values.readings!,
      events: values.events!,
      version: values.version ?? 'candidate',
      rulCap: number('rul-cap', values['rul-cap'], 125),
      rulUnit: values['rul-unit'] ? span(values['rul-unit'], 'cycles') : { cycles: 1 },
      horizon: span(values.horizon ?? '30', 'cycles'),
      holdout: number('holdout', values.holdout, 0.2),
      seed: number('seed', values.seed, 1),
      rounds: number('rounds', values.rounds, 300),
      params: values.params ? (JSON.parse(values.params) as Record<string, unknown>) : {},
      ...(values.stable ? { stable: values.stable } : {}),
    });
    await writeFile(values.out ?? 'model.onnx', artifact);
    const json = JSON.stringify(report, null, 2) + '\n';
    await writeFile(values.metrics ?? 'metrics.json', json);
    if (values['holdout-predictions'])
      await writeFile(values['holdout-predictions'], holdout.map((h) => JSON.stringify(h) + '\n').join(''));
    process.stdout.write(json);
    return;
  }
  if (command === 'score') {
    required(values, ['fleet', 'model', 'artifact', 'readings']);
    const result = await score({
      fleet: values.fleet!,
      model: values.model!,
      artifact: values.artifact!,
      readings: values.readings!,
      ...(values.events ? { events: values.events } : {}),
      out: values.out ?? 'predictions.jsonl',
    });
    process.stdout.write(JSON.stringify(result) + '\n');
    return;
  }
  throw new Error(`unknown command ${command}`);
}

try {
  await main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`prognos-trainer: ${(error as Error).message} (see --help)\n`);
  process.exitCode = 2;
}
