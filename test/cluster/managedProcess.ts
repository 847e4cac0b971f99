import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A long-running child in its own process group, logging to `<logDir>/<name>.log`. */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Exit code or signal once it has exited, otherwise undefined. */
  readonly exit: string | undefined;
  /** SIGTERM to the whole group, SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
  /** Rejects with what failed and where the log is, when it exits before `check` holds. */
  waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void>;
}

export interface SpawnOptions {
  name: string;
  binary: string;
  args: string[];
  logDir: string;
  env?: NodeJS.ProcessEnv;
  /** Called when the process exits without stop() having been asked for. */
  onUnexpectedExit?: (name: string, exit: string) => void;
}

export function spawnManaged(opts: SpawnOptions): ManagedProcess {
  mkdirSync(opts.logDir, { recursive: true });
  const logFile = join(opts.logDir, `${opts.name}.log`);
  const fd = openSync(logFile, 'a');
  // detached: a process group of its own, so stop() reaches anything it forks and a terminal's
  // Ctrl-C to the parent does not tear the cluster down behind the parent's back.
  const child = spawn(opts.binary, opts.args, {
    stdio: ['ignore', fd, fd],
    detached: true,
    env: opts.env ?? process.env,
  });
  closeSync(fd);
  let exit: string | undefined;
  let stopping = false;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = signal ? `signal ${signal}` : `code ${code}`;
      if (!stopping) opts.onUnexpectedExit?.(opts.name, exit);
      resolve();
    });
    child.once('error', (err) => {
      exit = `spawn error: ${err.message}`;
      resolve();
    });
  });
  const pid = child.pid ?? -1;

  const signalGroup = (signal: NodeJS.Signals): void => {
    if (pid <= 0) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // ESRCH: the group is already gone.
    }
  };

  return {
    name: opts.name,
    pid,
    logFile,
    get exit() {
      return exit;
    },
    async stop(graceMs = 5_000) {
      stopping = true;
      if (exit === undefined) {
        signalGroup('SIGTERM');
        const timer = setTimeout(() => signalGroup('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      // The leader is gone; make sure nothing it started lingers in its group.
      signalGroup('SIGKILL');
    },
    async waitUntil(what, check, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (exit !== undefined) {
          throw new Error(`${opts.name} exited (${exit}) before ${what}; see ${logFile}\n${tail(logFile)}`);
        }
        if (await check().catch(() => false)) return;
        if (Date.now() > deadline) {
          throw new Error(
            `${opts.name}: not ${what} within ${timeoutMs} ms; see ${logFile}\n${tail(logFile)}`,
          );
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}

/** The last lines of a log, for error messages that should be useful without opening the file. */
export function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
