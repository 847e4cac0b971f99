// Preloaded into the operator process by bench/operator.ts (`--expose-gc --import`): on SIGUSR2 it
// runs two full GCs and writes process.memoryUsage() as JSON to $PROGNOS_BENCH_MEMORY_FILE, so the
// benchmark reads memory after garbage collection without touching the operator's code.
import { writeFileSync } from 'node:fs';

const file = process.env['PROGNOS_BENCH_MEMORY_FILE'];
const gc = (globalThis as { gc?: () => void }).gc;

if (file) {
  process.on('SIGUSR2', () => {
    gc?.();
    gc?.();
    writeFileSync(file, JSON.stringify({ at: Date.now(), gc: gc !== undefined, ...process.memoryUsage() }));
  });
}
