// NASA C-MAPSS FD001 (../shared/datasets/cmapss) as demo readings, with a synthetic stand-in when the
// dataset is absent, and a linear remaining-useful-life model fitted on it for the demo to serve.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../binaries.ts';

/** The sensors the demo fleet carries, and their 0-based column in train_FD001.txt. */
export const DEMO_SENSORS: readonly { name: string; column: number; min: number; max: number }[] = [
  { name: 't24', column: 6, min: 600, max: 700 },
  { name: 't30', column: 7, min: 1500, max: 1700 },
  { name: 't50', column: 8, min: 1300, max: 1500 },
  { name: 'p30', column: 11, min: 500, max: 600 },
  { name: 'ps30', column: 15, min: 40, max: 55 },
  { name: 'phi', column: 16, min: 500, max: 560 },
  { name: 'w31', column: 24, min: 37, max: 41 },
  { name: 'w32', column: 25, min: 22, max: 25 },
];

/** One engine cycle: the engine, its cycle number, the sensor values and the true RUL (capped at 125). */
export interface Cycle {
  engine: number;
  cycle: number;
  values: number[];
  rul: number;
}

export const CMAPSS_FILE = join(repoRoot, '..', 'shared', 'datasets', 'cmapss', 'train_FD001.txt');
const RUL_CAP = 125;

export function loadCmapss(file = CMAPSS_FILE): Cycle[] | undefined {
  if (!existsSync(file)) return undefined;
  const rows = readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number))
    .filter((r) => r.length >= 26);
  const lastCycle = new Map<number, number>();
  for (const r of rows) lastCycle.set(r[0]!, Math.max(lastCycle.get(r[0]!) ?? 0, r[1]!));
  return rows.map((r) => ({
    engine: r[0]!,
    cycle: r[1]!,
    values: DEMO_SENSORS.map((s) => r[s.column]!),
    rul: Math.min(RUL_CAP, lastCycle.get(r[0]!)! - r[1]!),
  }));
}

/** Engines that degrade linearly towards failure with noise: same sensors and ranges as C-MAPSS. */
export function syntheticCycles(engines = 20, seed = 1): Cycle[] {
  let state = seed;
  const noise = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32 - 0.5;
  };
  const out: Cycle[] = [];
  for (let e = 1; e <= engines; e++) {
    const life = 150 + Math.floor((noise() + 0.5) * 150);
    for (let c = 1; c <= life; c++) {
      const wear = c / life;
      const values = DEMO_SENSORS.map((s) => {
        const mid = s.min + (s.max - s.min) * 0.4;
        return mid + (s.max - s.min) * (0.25 * wear * wear + 0.02 * noise());
      });
      out.push({ engine: e, cycle: c, values, rul: Math.min(RUL_CAP, life - c) });
    }
  }
  return out;
}

/** Least squares RUL = x·w + b (ridge-regularized, on standardized inputs, folded back to raw units). */
export function fitLinearRul(
  cycles: readonly Cycle[],
  ridge = 1e-3,
): { coefficients: number[]; intercept: number } {
  const k = DEMO_SENSORS.length;
  const mean = Array.from(
    { length: k },
    (_, j) => cycles.reduce((s, c) => s + c.values[j]!, 0) / cycles.length,
  );
  const std = Array.from(
    { length: k },
    (_, j) => Math.sqrt(cycles.reduce((s, c) => s + (c.values[j]! - mean[j]!) ** 2, 0) / cycles.length) || 1,
  );
  const yMean = cycles.reduce((s, c) => s + c.rul, 0) / cycles.length;
  // Normal equations (XᵀX + λI) w = Xᵀy on z-scores.
  const a = Array.from({ length: k }, () => new Array<number>(k + 1).fill(0));
  for (const c of cycles) {
    const z = c.values.map((v, j) => (v - mean[j]!) / std[j]!);
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) a[i]![j]! += z[i]! * z[j]!;
      a[i]![k]! += z[i]! * (c.rul - yMean);
    }
  }
  for (let i = 0; i < k; i++) a[i]![i]! += ridge * cycles.length;
  // Gauss-Jordan elimination with partial pivoting.
  for (let col = 0; col < k; col++) {
    let pivot = col;
    for (let r = col + 1; r < k; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r;
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    for (let r = 0; r < k; r++) {
      if (r === col) continue;
      const f = a[r]![col]! / a[col]![col]!;
      for (let j = col; j <= k; j++) a[r]![j]! -= f * a[col]![j]!;
    }
  }
  const wz = a.map((row, i) => row[k]! / row[i]!);
  const coefficients = wz.map((w, j) => w / std[j]!);
  const intercept = yMean - coefficients.reduce((s, w, j) => s + w * mean[j]!, 0);
  return { coefficients, intercept };
}
