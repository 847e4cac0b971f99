// The boundary to LightGBM: the feature matrix goes to python/fit.py as raw files in a temporary
// directory, the ONNX artifact and LightGBM's own predictions come back. The Python side runs from the
// venv scripts/python-trainer provisions (pinned, hashed requirements), or in the image from the venv
// its Dockerfile stage installed with the same pins (PROGNOS_TRAINER_PYTHON).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const FIT_SCRIPT = fileURLToPath(new URL('./python/fit.py', import.meta.url));
const PYTHON =
  process.env['PROGNOS_TRAINER_PYTHON'] ??
  fileURLToPath(new URL('../../scripts/python-trainer', import.meta.url));

export type FitTask = 'regression' | 'classification';

export interface FitRequest {
  task: FitTask;
  width: number;
  train: { rows: Float32Array; targets: Float64Array };
  /** Row sets LightGBM predicts after the fit (holdout, skew checks), each count × width. */
  predict: Float32Array[];
  /** LightGBM parameters over the defaults (python/fit.py). */
  params: Record<string, unknown>;
  rounds: number;
}

export interface FitResult {
  onnx: Uint8Array;
  /** LightGBM's predictions for each of FitRequest.predict (probability of failure for classification). */
  predictions: Float64Array[];
  info: { lightgbm: string; onnxmltools: string; onnx: string; trees: number; fitSeconds: number };
}

/** Trees summed per float32 chunk before the chunks are added in double (onnxmltools `split`). */
const SPLIT_TREES = 10;

export async function fitLightGbm(req: FitRequest): Promise<FitResult> {
  const dir = await mkdtemp(join(tmpdir(), 'prognos-fit-'));
  try {
    const bytes = (a: Float32Array | Float64Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    await writeFile(join(dir, 'x.f32'), bytes(req.train.rows));
    await writeFile(join(dir, 'y.f64'), bytes(req.train.targets));
    const predict = await Promise.all(
      req.predict.map(async (rows, i) => {
        await writeFile(join(dir, `p${i}.f32`), bytes(rows));
        return { x: join(dir, `p${i}.f32`), rows: rows.length / req.width, out: join(dir, `p${i}.f64`) };
      }),
    );
    const job = {
      task: req.task,
      columns: Array.from({ length: req.width }, (_, j) => `f${j}`),
      params: req.params,
      rounds: req.rounds,
      train: { x: join(dir, 'x.f32'), y: join(dir, 'y.f64'), rows: req.train.targets.length },
      predict,
      out: join(dir, 'model.onnx'),
      split: SPLIT_TREES,
    };
    await writeFile(join(dir, 'job.json'), JSON.stringify(job));
    let stdout: string;
    try {
      ({ stdout } = await run(PYTHON, [FIT_SCRIPT, join(dir, 'job.json')], { maxBuffer: 16 << 20 }));
    } catch (error) {
      const e = error as Error & { stderr?: string };
      throw new Error(
        `LightGBM fit failed: ${e.stderr?.trim().split('\n').slice(-5).join('\n') || e.message}`,
        {
          cause: error,
        },
      );
    }
    const predictions = await Promise.all(
      predict.map(async (p) => {
        const b = await readFile(p.out);
        return new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
      }),
    );
    return {
      onnx: new Uint8Array(await readFile(job.out)),
      predictions,
      info: JSON.parse(stdout.trim().split('\n').at(-1)!) as FitResult['info'],
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
