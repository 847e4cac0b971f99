import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { environMarks, processesOfStateDir, stateDirMarker, terminate } from './stateDirProcesses.ts';

describe('environMarks', () => {
  it.each([
    [`A=1\0${stateDirMarker}=/r/.prognos-env\0B=2\0`, '/r/.prognos-env', true],
    [`${stateDirMarker}=/r/.prognos-env`, '/r/.prognos-env', true],
    [`${stateDirMarker}=/r/.prognos-env-2\0`, '/r/.prognos-env', false],
    [`${stateDirMarker}=/r\0`, '/r/.prognos-env', false],
    [`X${stateDirMarker}=/r/.prognos-env\0`, '/r/.prognos-env', false],
    ['', '/r/.prognos-env', false],
  ])('%j marks %s: %s', (environ, dir, expected) => {
    expect(environMarks(environ, dir)).toBe(expected);
  });
});

describe('processesOfStateDir', () => {
  it('finds a marked process and terminate() ends it', async () => {
    const dir = `/nonexistent/prognos-test-${process.pid}`;
    const child = spawn('sleep', ['30'], { env: { ...process.env, [stateDirMarker]: dir }, stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    await new Promise((r) => setTimeout(r, 100));
    expect(processesOfStateDir(dir).map((p) => p.pid)).toEqual([child.pid]);
    await terminate([child.pid!], 2_000);
    await exited;
    expect(processesOfStateDir(dir)).toEqual([]);
  });
});
