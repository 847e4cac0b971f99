import { readdirSync, readFileSync } from 'node:fs';

/**
 * Every process an environment starts carries this variable (set by the supervisor and passed to
 * the control plane), so `env:down` can prove nothing of that environment survived, without
 * matching on process names.
 */
export const stateDirMarker = 'PROGNOS_ENV_STATE_DIR';

export interface ProcessInfo {
  pid: number;
  cmdline: string;
}

/** Whether a NUL-separated /proc environ block marks the process as part of `stateDir`'s environment. */
export function environMarks(environ: string, stateDir: string): boolean {
  return environ.split('\0').includes(`${stateDirMarker}=${stateDir}`);
}

/** Live processes (other than this one) that belong to the environment in `stateDir`. */
export function processesOfStateDir(stateDir: string): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (!environMarks(readFileSync(`/proc/${pid}/environ`, 'latin1'), stateDir)) continue;
      if (!isRunning(pid)) continue;
      found.push({
        pid,
        cmdline: readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ').trim(),
      });
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

/** Running, as opposed to gone or a zombie its (possibly non-reaping) parent has not collected. */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat[stat.lastIndexOf(') ') + 2] !== 'Z';
  } catch {
    return false;
  }
}

/** SIGTERM each pid, SIGKILL whatever is still alive after `graceMs`. */
export async function terminate(pids: readonly number[], graceMs = 5_000): Promise<void> {
  const send = (pid: number, signal: NodeJS.Signals): boolean => {
    try {
      process.kill(pid, signal);
      return true;
    } catch {
      return false;
    }
  };
  let alive = pids.filter((pid) => send(pid, 'SIGTERM'));
  const deadline = Date.now() + graceMs;
  while (alive.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    alive = alive.filter(isRunning);
  }
  for (const pid of alive) send(pid, 'SIGKILL');
}
