// Realistic scenario: NASA C-MAPSS FD001 turbofan engines replayed as machines through the pipeline.
// A linear RUL regressor is fit by least squares on 80 engines (features from the runtime's own
// window store) and served as a real ONNX model to 20 held-out engines.
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from './artifact.ts';
import { type Aggregation, parseRuntimeConfig } from '../../../contracts/runtimeConfig.ts';
import { createFeatureVectorBuilder, windowSpecsOf } from '../features/featureVector.ts';
import { buildLinearRegressor } from '../../../contracts/onnx/buildModel.ts';
import { createPipeline, type PipelineMessage, type Prediction } from '../pipeline/pipeline.ts';
import { WindowStore } from '../features/windows.ts';

const DATA = new URL('../../../../shared/datasets/cmapss/train_FD001.txt', import.meta.url);
const SENSORS = ['s2', 's3', 's4', 's7', 's11', 's12', 's15', 's20', 's21'];
const SENSOR_COLUMN = (name: string) => 4 + Number(name.slice(1)); // unit, cycle, 3 settings, then s1..s21
const RUL_CAP = 125;
const WINDOW = 30;

interface Row {
  unit: number;
  cycle: number;
  values: Record<string, number>;
  rul: number;
}

function readEngines(): Map<number, Row[]> {
  const engines = new Map<number, Row[]>();
  for (const line of readFileSync(DATA, 'utf8').split('\n')) {
    const cols = line.trim().split(/\s+/).map(Number);
    if (cols.length < 26) continue;
    const values = Object.fromEntries(SENSORS.map((s) => [s, cols[SENSOR_COLUMN(s)]!]));
    const rows = engines.get(cols[0]!) ?? [];
    rows.push({ unit: cols[0]!, cycle: cols[1]!, values, rul: 0 });
    engines.set(cols[0]!, rows);
  }
  for (const rows of engines.values()) {
    const last = rows.at(-1)!.cycle;
    for (const r of rows) r.rul = Math.min(RUL_CAP, last - r.cycle);
  }
  return engines;
}

/** Solves (AᵀA + λI) w = Aᵀy by Gauss-Jordan elimination; columns are standardised by the caller. */
function ridge(a: number[][], y: number[], lambda: number): number[] {
  const k = a[0]!.length;
  const m = Array.from({ length: k }, (_, i) => {
    const row = Array.from({ length: k + 1 }, () => 0);
    for (let r = 0; r < a.length; r++) {
      for (let j = 0; j < k; j++) row[j]! += a[r]![i]! * a[r]![j]!;
      row[k]! += a[r]![i]! * y[r]!;
    }
    row[i]! += lambda;
    return row;
  });
  for (let c = 0; c < k; c++) {
    const pivot = m.reduce(
      (best, row, r) => (r >= c && Math.abs(row[c]!) > Math.abs(m[best]![c]!) ? r : best),
      c,
    );
    [m[c], m[pivot]] = [m[pivot]!, m[c]!];
    for (let r = 0; r < k; r++) {
      if (r === c) continue;
      const f = m[r]![c]! / m[c]![c]!;
      for (let j = c; j <= k; j++) m[r]![j]! -= f * m[c]![j]!;
    }
  }
  return m.map((row, i) => row[k]! / row[i]!);
}

describe.skipIf(!existsSync(DATA))('C-MAPSS FD001 replay', () => {
  it('serves a least-squares RUL model to held-out engines', async () => {
    const engines = readEngines();
    const schema = {
      timestampField: 'ts',
      timestampFormat: 'UnixMillis' as const,
      maxMessageBytes: 4096,
      maxFutureSkewMs: 0,
      features: SENSORS.map((name) => ({ name, required: true })),
    };
    const windows = SENSORS.map((feature, i) => ({
      feature,
      size: WINDOW,
      aggregations: (i === 0 ? ['mean', 'count_since_maintenance'] : ['mean']) as Aggregation[],
    }));
    const inputs = [...SENSORS.map((s) => `${s}.mean`), 's2.count_since_maintenance'];
    const featureConfig = { schema, windows };

    // Training features come from the same window store and row builder the pipeline uses.
    const store = new WindowStore(windowSpecsOf(featureConfig), SENSORS.length);
    const builder = createFeatureVectorBuilder(featureConfig, inputs);
    const x: number[][] = [];
    const y: number[] = [];
    const row = new Float32Array(inputs.length);
    for (let unit = 1; unit <= 80; unit++) {
      for (const r of engines.get(unit)!) {
        const slot = store.push(
          `engine-${unit}`,
          Float64Array.from(SENSORS, (s) => r.values[s]!),
          0,
        );
        builder.fill(store, slot, row, 0);
        x.push(Array.from(row));
        y.push(r.rul);
      }
    }
    const width = inputs.length;
    const mean = Array.from({ length: width }, (_, j) => x.reduce((s, r) => s + r[j]!, 0) / x.length);
    const sd = mean.map((m, j) => Math.sqrt(x.reduce((s, r) => s + (r[j]! - m) ** 2, 0) / x.length) || 1);
    const yMean = y.reduce((a, b) => a + b, 0) / y.length;
    const z = x.map((r) => r.map((v, j) => (v - mean[j]!) / sd[j]!));
    const wz = ridge(
      z,
      y.map((v) => v - yMean),
      1e-3,
    );
    const coefficients = wz.map((w, j) => w / sd[j]!);
    const intercept = yMean - coefficients.reduce((s, w, j) => s + w * mean[j]!, 0);
    const built = buildLinearRegressor(coefficients, intercept, { baseline: { inputs, means: mean } });
    const dir = await mkdtemp(join(tmpdir(), 'cmapss-'));
    await writeFile(join(dir, 'rul.onnx'), built.bytes);

    const config = parseRuntimeConfig({
      namespace: 'aero',
      fleet: 'turbofans',
      model: 'rul',
      version: 'v1',
      role: 'stable',
      task: 'regression',
      nats: { servers: ['nats://127.0.0.1:4222'] },
      input: { mode: 'core', subject: 'aero.turbofans.*.readings', machineId: { subjectToken: 3 } },
      schema,
      windows,
      artifact: { uri: pathToFileURL(join(dir, 'rul.onnx')).href, sha256: sha256Hex(built.bytes), inputs },
      thresholds: { warning: 50, critical: 20, horizonCycles: RUL_CAP },
      alerts: { hysteresis: 5 },
    });
    const pipeline = await createPipeline(config);
    const t0 = Date.UTC(2024, 0, 1);
    // Held-out engines interleaved cycle by cycle, as a fleet would publish them.
    const held = Array.from({ length: 20 }, (_, i) => engines.get(81 + i)!);
    const maxCycles = Math.max(...held.map((rows) => rows.length));
    const messages: PipelineMessage[] = [];
    const truth = new Map<string, number>();
    for (let c = 0; c < maxCycles; c++) {
      for (const rows of held) {
        const r = rows[c];
        if (!r) continue;
        const ts = t0 + r.cycle * 1000;
        messages.push({
          subject: `aero.turbofans.engine-${r.unit}.readings`,
          data: new TextEncoder().encode(JSON.stringify({ ts, ...r.values })),
          receivedAt: t0 + 10_000_000,
        });
        truth.set(`engine-${r.unit}@${ts}`, r.rul);
      }
    }
    const predictions: Prediction[] = [];
    const alerts: string[] = [];
    for (let i = 0; i < messages.length; i += 256) {
      const result = await pipeline.process(messages.slice(i, i + 256));
      predictions.push(...result.predictions);
      alerts.push(...result.alerts.map((a) => `${a.machineId}:${a.to}`));
    }
    expect(predictions).toHaveLength(messages.length);
    const errors = predictions.map((p) => p.rulCycles! - truth.get(`${p.machineId}@${p.ts}`)!);
    const rmse = Math.sqrt(errors.reduce((s, d) => s + d * d, 0) / errors.length);
    const last = held.map((rows) => predictions.findLast((p) => p.machineId === `engine-${rows[0]!.unit}`)!);
    const lastRmse = Math.sqrt(last.reduce((s, p) => s + p.rulCycles! ** 2, 0) / last.length);
    const criticalEngines = new Set(
      alerts.filter((a) => a.endsWith(':critical')).map((a) => a.split(':')[0]),
    );
    const alertedEngines = new Set(alerts.filter((a) => !a.endsWith(':ok')).map((a) => a.split(':')[0]));
    const stats = pipeline.stats();
    console.log(
      `C-MAPSS FD001 linear RUL (80 train / 20 held-out engines, ${predictions.length} readings, cap ${RUL_CAP}): ` +
        `RMSE all cycles ${rmse.toFixed(2)}, RMSE at failure ${lastRmse.toFixed(2)}, ` +
        `${alertedEngines.size}/20 engines alerted (${criticalEngines.size} critical), ${stats.counts.alerts} alert transitions`,
    );
    expect(rmse).toBeLessThan(30);
    // A linear model on capped labels is conservative near failure: every engine warns, most go critical.
    expect(alertedEngines.size).toBe(20);
    expect(criticalEngines.size).toBeGreaterThanOrEqual(10);
    // One contribution per sensor, plus the machine's age (readings since maintenance).
    const groups = [...SENSORS, 'since_maintenance'];
    expect(last.every((p) => Object.keys(p.contributions).join() === groups.join())).toBe(true);
    await pipeline.close();
  });
});
