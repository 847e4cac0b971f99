import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { killGroup } from './container.ts';

/**
 * Kills container process groups left by a pod runner that died without stop() (their pid files
 * survive in `<stateDir>/pods/<uid>/pids/`). A pid is only killed when its command line still names
 * this repository, so a recycled pid of an unrelated process is left alone.
 */
export function reapOrphans(stateDir: string, repoRoot: string, log: (line: string) => void): void {
  const podsDir = join(stateDir, 'pods');
  for (const pod of safeList(podsDir)) {
    const pidsDir = join(podsDir, pod, 'pids');
    for (const file of safeList(pidsDir)) {
      const pid = Number(readFileSync(join(pidsDir, file), 'utf8'));
      if (Number.isInteger(pid) && pid > 1 && commandLine(pid).includes(repoRoot)) {
        log(`killing orphaned container process group ${pid} (${pod}/${file})`);
        killGroup(pid, 'SIGKILL');
      }
      rmSync(join(pidsDir, file), { force: true });
    }
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}
