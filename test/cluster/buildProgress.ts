import type { BuildStep } from './binaries.ts';

/** How `cli.ts up` shows the one-time binary build: each step as it starts, then a tick while it runs. */
export interface BuildProgressReporter {
  onStep(step: BuildStep): void;
  /** Stops the ticking and says how long the whole build took (nothing when nothing was built). */
  done(ok: boolean): void;
}

export const formatDuration = (ms: number): string => {
  const s = Math.floor(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
};

/** One progress line: the running step, its elapsed time and the build's total. */
export function progressLine(step: BuildStep, buildStartedAt: number, now: number): string {
  return `    ${step.step}: ${formatDuration(now - step.startedAt)} (build ${formatDuration(now - buildStartedAt)} so far)`;
}

/**
 * A reporter writing to `write`. On a terminal the tick rewrites one line every second; elsewhere
 * (CI logs, pipes) it prints a line every `tickMs` so the log stays short.
 */
export function buildProgressReporter(opts: {
  write: (text: string) => void;
  logFile: string;
  isTTY: boolean;
  tickMs?: number;
  now?: () => number;
}): BuildProgressReporter {
  const now = opts.now ?? Date.now;
  let startedAt: number | undefined;
  let current: BuildStep | undefined;
  let timer: NodeJS.Timeout | undefined;
  // On a terminal the tick's line stays open (no newline) until the next step or the end.
  let lineOpen = false;
  const tick = (): void => {
    if (!current || startedAt === undefined) return;
    const line = progressLine(current, startedAt, now());
    opts.write(opts.isTTY ? `\r\x1b[2K${line}` : `${line}\n`);
    lineOpen = opts.isTTY;
  };
  const endLine = (): void => {
    if (lineOpen) opts.write('\n');
    lineOpen = false;
  };
  return {
    onStep(step) {
      if (startedAt === undefined) {
        startedAt = step.startedAt;
        opts.write(
          'Building the control-plane binaries from the Go module proxy (first run only; about 15 min on 2 cores).\n' +
            `  build log: ${opts.logFile}\n`,
        );
        timer = setInterval(tick, opts.tickMs ?? (opts.isTTY ? 1_000 : 30_000));
        timer.unref();
      }
      endLine();
      current = step;
      opts.write(`==> ${step.step}\n`);
    },
    done(ok) {
      if (timer) clearInterval(timer);
      if (startedAt === undefined) return;
      endLine();
      opts.write(`${ok ? 'Built' : 'Build failed'} after ${formatDuration(now() - startedAt)}.\n`);
    },
  };
}
