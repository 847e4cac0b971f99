import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Files in a state dir through which `cli.ts`, the background supervisor and tests find an environment. */
export const envJsonFile = (stateDir: string): string => join(stateDir, 'env.json');
export const supervisorPidFile = (stateDir: string): string => join(stateDir, 'supervisor.pid');
export const supervisorErrorFile = (stateDir: string): string => join(stateDir, 'supervisor-error.txt');
export const supervisorLogFile = (stateDir: string): string => join(stateDir, 'logs', 'supervisor.log');

/** The supervisor's pid when its pid file names a live supervisor process, otherwise undefined. */
export function runningSupervisor(stateDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(supervisorPidFile(stateDir), 'utf8').trim());
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
    // Guards against a recycled pid that now belongs to something else.
    return cmdline.includes('supervisor.ts') ? pid : undefined;
  } catch {
    return undefined;
  }
}
