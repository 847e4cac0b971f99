// Preloaded into the operator process by bench/operator.ts (`--expose-gc --import`): on SIGUSR2 it
// runs two full GCs and records process.memoryUsage(), then one memory-reducing GC (V8's
// "last-resort" flavour: shrinks the young generation and releases pooled pages, as under memory
// pressure) and writes both as JSON to $PROGNOS_BENCH_MEMORY_FILE, so the benchmark reads memory after
// garbage collection without touching the operator's code.
import { writeFileSync } from 'node:fs';

type Gc = (options?: { type: 'major'; execution: 'sync'; flavor: 'regular' | 'last-resort' }) => void;
const file = process.env['PROGNOS_BENCH_MEMORY_FILE'];
const gc = (globalThis as { gc?: Gc }).gc;

if (file) {
  process.on('SIGUSR2', () => {
    gc?.();
    gc?.();
    const afterGc = process.memoryUsage();
    gc?.({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    writeFileSync(
      file,
      JSON.stringify({ at: Date.now(), gc: gc !== undefined, ...afterGc, reduced: process.memoryUsage() }),
    );
  });
}
