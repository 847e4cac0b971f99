import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { reapOrphans } from './orphans.ts';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('reapOrphans', () => {
  let stateDir = '';
  afterEach(() => rmSync(stateDir, { recursive: true, force: true }));

  it('kills process groups named by pid files when their command line matches, and removes the files', async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'orphans-'));
    const marker = `orphan-marker-${process.pid}`;
    // `exec -a` puts the marker into the command line, as the repository path is in a container's.
    const child = spawn('bash', ['-c', `exec -a ${marker} sleep 30`], { detached: true, stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const pids = join(stateDir, 'pods', 'uid-1', 'pids');
    mkdirSync(pids, { recursive: true });
    writeFileSync(join(pids, 'main'), String(child.pid));
    writeFileSync(join(pids, 'stale'), String(process.pid));
    await new Promise((r) => setTimeout(r, 100));

    const lines: string[] = [];
    reapOrphans(stateDir, marker, (l) => lines.push(l));
    await exited;
    expect(alive(child.pid!)).toBe(false);
    // This test process does not match the marker and was left alone.
    expect(lines).toHaveLength(1);
    expect(existsSync(join(pids, 'main'))).toBe(false);
    expect(existsSync(join(pids, 'stale'))).toBe(false);
  });
});
