import { mkdtempSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBounded, readLogTail, terminationMessage } from './terminationMessage.ts';

const noLog = (): string => {
  throw new Error('the log is read only when falling back to it');
};

describe('termination message (kubelet rules)', () => {
  it.each([
    ['the file wins, whatever the exit', { written: '{"ok":1}', policy: 'File', exitCode: 0 }, '{"ok":1}'],
    ['the file wins over the logs', { written: 'why', policy: 'FallbackToLogsOnError', exitCode: 1 }, 'why'],
    ['nothing written: no message', { written: '', policy: 'File', exitCode: 1 }, undefined],
    ['unreadable file: no message', { written: undefined, policy: undefined, exitCode: 1 }, undefined],
    [
      'fallback only on a failed exit',
      { written: '', policy: 'FallbackToLogsOnError', exitCode: 0 },
      undefined,
    ],
  ])('%s', (_name, inputs, expected) => {
    expect(terminationMessage({ ...inputs, logTail: noLog })).toBe(expected);
  });

  it('keeps the first 4096 bytes of the file, on a character boundary', () => {
    const message = terminationMessage({
      written: 'a'.repeat(4095) + 'é' + 'b'.repeat(10),
      policy: 'File',
      exitCode: 0,
      logTail: noLog,
    })!;
    expect(message).toBe('a'.repeat(4095));
  });

  it('falls back to the last 80 lines of the log, at most 2048 bytes', () => {
    const lines = Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n') + '\n';
    const tail = terminationMessage({
      written: '',
      policy: 'FallbackToLogsOnError',
      exitCode: 2,
      logTail: () => lines,
    })!;
    expect(tail.split('\n')).toHaveLength(80);
    expect(tail.startsWith('line 20\n')).toBe(true);
    expect(tail.endsWith('line 99')).toBe(true);
    const long = terminationMessage({
      written: '',
      policy: 'FallbackToLogsOnError',
      exitCode: 2,
      logTail: () => 'x'.repeat(5000) + 'END',
    })!;
    expect(Buffer.byteLength(long)).toBe(2048);
    expect(long.endsWith('END')).toBe(true);
  });
});

describe('bounded reads', () => {
  it('reads a file up to a limit and a log from where the instance started', () => {
    const dir = mkdtempSync(join(tmpdir(), 'termination-'));
    const file = join(dir, 'message');
    writeFileSync(file, 'x'.repeat(100));
    expect(readBounded(file, 10)).toBe('x'.repeat(10));
    expect(readBounded(join(dir, 'missing'), 10)).toBeUndefined();
    const log = join(dir, 'log');
    writeFileSync(log, 'earlier instance\n');
    const offset = 'earlier instance\n'.length;
    appendFileSync(log, 'this instance\n');
    expect(readLogTail(log, offset, 2048)).toBe('this instance\n');
    expect(readLogTail(log, offset, 5)).toBe('ance\n');
    expect(readLogTail(join(dir, 'none'), 0, 10)).toBe('');
  });
});
