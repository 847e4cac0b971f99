import { describe, expect, it } from 'vitest';
import type { TrainingResult } from '../../contracts/training.ts';
import { failureMessage, resultMessage, terminationMessagePath, truncateUtf8 } from './terminationMessage.ts';

const result: TrainingResult = {
  candidate: { version: 'v2', uri: 'nats-os://prognos-models/ns/m/v2.onnx', sha256: 'a'.repeat(64) },
  metric: 'rmse',
  candidateMetric: 12.5,
  stableMetric: 14.1,
  rows: { train: 3000, holdout: 800 },
};
const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

describe('trainer termination message', () => {
  it('is the result as JSON when it fits', () => {
    expect(JSON.parse(resultMessage(result))).toEqual(result);
  });

  it('shortens only the warning to fit 4096 bytes, and stays valid JSON', () => {
    const warning = 'retention "short" ' + 'é'.repeat(5000);
    const message = resultMessage({ ...result, warning });
    expect(bytes(message)).toBeLessThanOrEqual(4096);
    const parsed = JSON.parse(message) as TrainingResult;
    expect({ ...parsed, warning: undefined }).toEqual({ ...result, warning: undefined });
    expect(parsed.warning!.startsWith('retention "short" éé')).toBe(true);
    expect(parsed.warning!.endsWith('…')).toBe(true);
  });

  it('refuses a result that cannot fit without a warning to shorten', () => {
    expect(() => resultMessage(result, 50)).toThrow(/does not fit in 50 bytes/);
  });

  it('gives a failure as one line within the limit', () => {
    expect(failureMessage(new Error('stream X not found\n  at line'))).toBe(
      'prognos-trainer: stream X not found | at line',
    );
    expect(bytes(failureMessage(new Error('€'.repeat(3000))))).toBeLessThanOrEqual(4096);
    expect(truncateUtf8('abcdef', 4)).toBe('a…');
    expect(truncateUtf8('abc', 4)).toBe('abc');
  });

  it('writes to /dev/termination-log unless told another file', () => {
    expect(terminationMessagePath({})).toBe('/dev/termination-log');
    expect(terminationMessagePath({ PROGNOS_TERMINATION_MESSAGE_PATH: '/tmp/t' })).toBe('/tmp/t');
  });
});
