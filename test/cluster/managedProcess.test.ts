import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnManaged } from './managedProcess.ts';
import { isRunning } from './stateDirProcesses.ts';

const logDir = mkdtempSync(join(tmpdir(), 'prognos-proc-'));
afterAll(() => rmSync(logDir, { recursive: true, force: true }));

describe('spawnManaged', () => {
  it('says which process failed, why, and where its log is', async () => {
    const p = spawnManaged({
      name: 'failing',
      binary: 'sh',
      args: ['-c', 'echo cannot bind port; exit 3'],
      logDir,
    });
    const err = await p.waitUntil('ready', async () => false, 5_000).catch((e: Error) => e);
    expect((err as Error).message).toContain('failing exited (code 3) before ready');
    expect((err as Error).message).toContain(join(logDir, 'failing.log'));
    expect((err as Error).message).toContain('cannot bind port');
  });

  it('times out with the log path when the check never holds', async () => {
    const p = spawnManaged({ name: 'slow', binary: 'sleep', args: ['30'], logDir });
    await expect(p.waitUntil('ready', async () => false, 300)).rejects.toThrow(
      /slow: not ready within 300 ms; see .*slow\.log/,
    );
    await p.stop();
  });

  it('stops the whole process group, escalating to SIGKILL', async () => {
    // The shell ignores SIGTERM and has a child: both must be gone after stop().
    const p = spawnManaged({
      name: 'stubborn',
      binary: 'sh',
      args: ['-c', `trap '' TERM; sleep 30 & echo $! > ${join(logDir, 'child.pid')}; wait`],
      logDir,
    });
    await p.waitUntil(
      'started its child',
      async () => readFileSync(join(logDir, 'child.pid'), 'utf8').trim() !== '',
      5_000,
    );
    const child = Number(readFileSync(join(logDir, 'child.pid'), 'utf8'));
    const started = Date.now();
    await p.stop(500);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(p.exit).toBe('signal SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    expect(isRunning(child)).toBe(false);
  });
});
