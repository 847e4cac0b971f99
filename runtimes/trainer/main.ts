// prognos-trainer: trains LightGBM models on a fleet's readings and maintenance events and scores
// artifacts through the inference runtime, standalone on files or as a RetrainPolicy's Job on the
// fleet's JetStream data (docs/trainer.md).
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { TRAINING_REQUEST_ENV } from '../../contracts/training.ts';
import { parseDuration } from '../../operator/api/duration.ts';
import { runTrainingJob } from './job.ts';
import { score } from './score.ts';
import type { Span } from './targets.ts';
import {
  failureMessage,
  resultMessage,
  terminationMessagePath,
  writeTerminationMessage,
} from './terminationMessage.ts';
import { train, type TrainParams } from './train.ts';
import { parseTrainingRequest } from './trainingRequest.ts';

const USAGE = `Usage:
  prognos-trainer train --fleet fleet.yaml --model model.yaml --readings readings.jsonl --events events.jsonl
                        [--out model.onnx] [--metrics metrics.json] [options]
  prognos-trainer score --fleet fleet.yaml --model model.yaml --artifact model.onnx --readings readings.jsonl
                        [--events events.jsonl] [--out predictions.jsonl]
  prognos-trainer job [train options]

train fits LightGBM (the model's task: regression = remaining useful life, classification = failure
within a horizon) on feature rows built by the inference runtime's own window code, exports an ONNX
tree ensemble with its training baseline in the metadata, scores the holdout through the runtime's
pipeline and writes the artifact and a metrics JSON (also printed).

score replays readings (and maintenance events) through the runtime's pipeline with the artifact and
writes one prediction JSON per line, as a runtime publishes them.

job is the RetrainPolicy's training Job: it reads the TrainingRequest (contracts/training.ts) from
$PROGNOS_TRAINING_REQUEST, replays the fleet's readings and maintenance events of the data window from
JetStream, trains as train does, scores the stable on the same holdout, uploads the candidate to the
request's object store bucket and writes the TrainingResult JSON to the termination message
($PROGNOS_TERMINATION_MESSAGE_PATH, default /dev/termination-log). On failure it writes the reason
there and exits 1.

Readings: one JSON reading per line, as published on NATS, or {"subject": "...", "data": {...}} when
the fleet finds machine ids in a subject token. Events: one maintenance event per line,
{"machineId", "event": "failure"|"repair"|"maintenance"|"inspection", "ts": <epoch ms>}.

train options (job: all but --version, --stable and --holdout-predictions, which the request gives):
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

/** The train options shared by `train` and `job`. */
function trainParams(values: Record<string, string | boolean | undefined>): Omit<TrainParams, 'version'> {
  const text = (name: string): string | undefined => values[name] as string | undefined;
  return {
    rulCap: number('rul-cap', text('rul-cap'), 125),
    rulUnit: text('rul-unit') ? span(text('rul-unit')!, 'cycles') : { cycles: 1 },
    horizon: span(text('horizon') ?? '30', 'cycles'),
    holdout: number('holdout', text('holdout'), 0.2),
    seed: number('seed', text('seed'), 1),
    rounds: number('rounds', text('rounds'), 300),
    params: text('params') ? (JSON.parse(text('params')!) as Record<string, unknown>) : {},
  };
}

async function writeFailure(error: unknown): Promise<void> {
  const message = failureMessage(error);
  process.stderr.write(`${message}\n`);
  await writeTerminationMessage(message).catch((e: unknown) =>
    process.stderr.write(`prognos-trainer: cannot write ${terminationMessagePath()}: ${String(e)}\n`),
  );
}

/** Exit code and termination message are the Job's whole interface: every failure ends up in both. */
async function job(values: Record<string, string | boolean | undefined>): Promise<void> {
  const log = (line: string): void => void process.stdout.write(`prognos-trainer: ${line}\n`);
  try {
    const request = parseTrainingRequest(process.env[TRAINING_REQUEST_ENV], TRAINING_REQUEST_ENV);
    log(`training ${request.namespace}/${request.policy}: candidate ${request.candidateVersion}`);
    const { result, report } = await runTrainingJob(request, trainParams(values), log);
    process.stdout.write(JSON.stringify(report) + '\n');
    const message = resultMessage(result);
    await writeTerminationMessage(message);
    log(`result written to ${terminationMessagePath()}: ${message}`);
  } catch (error) {
    await writeFailure(error);
    process.exitCode = 1;
  }
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
      ...trainParams(values),
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
  if (command === 'job') return job(values);
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
  // A Job given a bad flag still says why in its termination message.
  if (process.argv[2] === 'job') await writeFailure(error);
  process.stderr.write(`prognos-trainer: ${(error as Error).message} (see --help)\n`);
  process.exitCode = 2;
}
