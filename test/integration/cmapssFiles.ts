// NASA C-MAPSS FD001 engines (../shared/datasets/cmapss) as the trainer's input files: a SensorFleet
// and a MaintenanceModel manifest, one reading per engine cycle as JSON lines (one flight an hour) and
// a failure event at each engine's last cycle (FD001's training engines all run to failure).
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from '../cluster/binaries.ts';

export const FD001 = join(repoRoot, '..', 'shared', 'datasets', 'cmapss', 'train_FD001.txt');

/** FD001's 14 informative sensors under the turbofans sample fleet's names, with their 0-based column. */
const SENSORS: readonly [string, number][] = [
  ['t24', 6],
  ['t30', 7],
  ['t50', 8],
  ['p30', 11],
  ['nf', 12],
  ['nc', 13],
  ['ps30', 15],
  ['phi', 16],
  ['nrf', 17],
  ['nrc', 18],
  ['bpr', 19],
  ['htbleed', 21],
  ['w31', 24],
  ['w32', 25],
];
const WINDOWED = ['t24', 't30', 't50', 'ps30', 'phi', 'nrc', 'w31', 'w32'];
export const INPUTS = [
  ...SENSORS.map(([s]) => s),
  ...WINDOWED.flatMap((s) => [`${s}.mean`, `${s}.slope`]),
  // Cycles since the engine entered service (no maintenance events): its age.
  't24.count_since_maintenance',
];
const T0_SECONDS = Date.UTC(2024, 0, 1) / 1000;
const CYCLE_SECONDS = 3600;

export const fleetYaml = `apiVersion: prognos.dev/v1alpha1
kind: SensorFleet
metadata: { name: turbofans, namespace: aero }
spec:
  nats: { url: nats://127.0.0.1:4222 }
  subject: fleet.turbofan.readings
  machineId: { field: engine_id }
  schema:
    timestampField: ts
    timestampFormat: UnixSeconds
    features:
${SENSORS.map(([s]) => `      - { name: ${s} }`).join('\n')}
  windows:
${WINDOWED.map((s, i) => `    - { feature: ${s}, size: 30, aggregations: [mean, slope${i === 0 ? ', count_since_maintenance' : ''}] }`).join('\n')}
`;

export const modelYaml = `apiVersion: prognos.dev/v1alpha1
kind: MaintenanceModel
metadata: { name: turbofan-rul, namespace: aero }
spec:
  fleetRef: { name: turbofans }
  task: regression
  model:
    version: v1
    uri: file:///models/turbofan-rul-v1.onnx
    sha256: '${'0'.repeat(64)}'
    inputs: [${INPUTS.join(', ')}]
  thresholds: { warning: 50, critical: 20 }
  serving: {}
`;

export interface EngineCycle {
  engine: number;
  cycle: number;
  values: number[];
}

export function readFd001(file = FD001): Map<number, EngineCycle[]> {
  const engines = new Map<number, EngineCycle[]>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const cols = line.trim().split(/\s+/).map(Number);
    if (cols.length < 26) continue;
    const cycles = engines.get(cols[0]!) ?? engines.set(cols[0]!, []).get(cols[0]!)!;
    cycles.push({ engine: cols[0]!, cycle: cols[1]!, values: SENSORS.map(([, c]) => cols[c]!) });
  }
  return engines;
}

export const engineId = (engine: number) => `engine-${engine}`;
export const cycleTs = (cycle: number) => (T0_SECONDS + cycle * CYCLE_SECONDS) * 1000;

export function readingLine(c: EngineCycle): string {
  const reading: Record<string, number | string> = {
    ts: T0_SECONDS + c.cycle * CYCLE_SECONDS,
    engine_id: engineId(c.engine),
  };
  SENSORS.forEach(([s], i) => (reading[s] = c.values[i]!));
  return JSON.stringify(reading);
}

/**
 * Writes fleet.yaml, model.yaml, readings.jsonl and events.jsonl for `engines` into `dir`. `truncate`
 * cuts an engine short at that cycle with no failure event: a censored engine, as in the test set.
 */
export async function writeCmapssFiles(
  dir: string,
  engines: ReadonlyMap<number, EngineCycle[]>,
  truncate: ReadonlyMap<number, number> = new Map(),
): Promise<{ fleet: string; model: string; readings: string; events: string }> {
  const files = {
    fleet: join(dir, 'fleet.yaml'),
    model: join(dir, 'model.yaml'),
    readings: join(dir, 'readings.jsonl'),
    events: join(dir, 'events.jsonl'),
  };
  const readings: string[] = [];
  const events: string[] = [];
  for (const [engine, cycles] of engines) {
    const end = truncate.get(engine);
    for (const c of cycles) if (end === undefined || c.cycle <= end) readings.push(readingLine(c));
    if (end === undefined)
      events.push(
        JSON.stringify({ machineId: engineId(engine), event: 'failure', ts: cycleTs(cycles.at(-1)!.cycle) }),
      );
  }
  await Promise.all([
    writeFile(files.fleet, fleetYaml),
    writeFile(files.model, modelYaml),
    writeFile(files.readings, readings.join('\n') + '\n'),
    writeFile(files.events, events.join('\n') + '\n'),
  ]);
  return files;
}

export const fd001Present = () => existsSync(FD001);
