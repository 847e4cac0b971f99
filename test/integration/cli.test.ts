import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../cluster/binaries.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `cli.ts <command>` as a user would, in a state dir of its own. */
function cli(command: string, env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(repoRoot, 'test/cluster/cli.ts'), command],
      { cwd: repoRoot, env: { ...process.env, ...env }, timeout: 110_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** A build script that announces a step, takes `seconds`, then does what `tail` says. */
function standInBuild(dir: string, seconds: number, tail: string): string {
  const script = join(dir, 'build.sh');
  writeFileSync(
    script,
    `#!/usr/bin/env bash\nset -euo pipefail\necho "==> building kube-apiserver (stand-in)" >&2\necho "go: compiling" >&2\nsleep ${seconds}\n${tail}\n`,
  );
  chmodSync(script, 0o755);
  return script;
}

describe('cli.ts up', () => {
  const dirs: string[] = [];
  const tempDir = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'prognos-cli-'));
    dirs.push(d);
    return d;
  };
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it(
    'survives a binary build longer than its ready timeout, showing the build progress',
    { timeout: 120_000 },
    async () => {
      const dir = tempDir();
      const env = {
        PROGNOS_ENV_DIR: join(dir, 'env'),
        // The stand-in build takes 25 s against a 20 s ready timeout (the environment itself starts in
        // ~4 s here), then hands over the real binaries.
        PROGNOS_BUILD_SCRIPT: standInBuild(
          dir,
          25,
          `bash ${join(repoRoot, 'test/cluster/build-binaries.sh')}`,
        ),
        PROGNOS_UP_TIMEOUT_S: '20',
      };
      const started = Date.now();
      let down: Run | undefined;
      try {
        const up = await cli('up', env);
        expect(up.stderr).toBe('');
        expect(up.code).toBe(0);
        expect(Date.now() - started).toBeGreaterThan(25_000);
        expect(up.stdout).toContain('Building the control-plane binaries');
        expect(up.stdout).toContain(`build log: ${join(dir, 'env', 'logs', 'build.log')}`);
        expect(up.stdout).toContain('==> building kube-apiserver (stand-in)');
        expect(up.stdout).toMatch(/Built after 2\ds\./);
        expect(up.stdout).toContain('Prognos environment is up');
        expect(readFileSync(join(dir, 'env', 'logs', 'build.log'), 'utf8')).toContain('go: compiling');
      } finally {
        down = await cli('down', env);
      }
      expect(down.stdout + down.stderr).toMatch(/no process of it is left/);
    },
  );

  it('names the failed build step and its log', async () => {
    const dir = tempDir();
    const up = await cli('up', {
      PROGNOS_ENV_DIR: join(dir, 'env'),
      PROGNOS_BUILD_SCRIPT: standInBuild(dir, 0, 'echo "compile: undefined: x" >&2; exit 1'),
    });
    expect(up.code).toBe(1);
    expect(up.stdout).toContain('Build failed after');
    expect(up.stderr).toContain('the step "building kube-apiserver (stand-in)" failed (exit 1)');
    expect(up.stderr).toContain(join(dir, 'env', 'logs', 'build.log'));
    expect(up.stderr).toContain('compile: undefined: x');
  });
});
