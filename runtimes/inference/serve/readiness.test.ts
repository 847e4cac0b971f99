import { describe, expect, it } from 'vitest';
import { readinessOf } from './readiness.ts';

describe('readinessOf', () => {
  const model = { modelServing: true, version: 'v3', explain: 'linear' as const };
  const none = { modelServing: false, explain: 'none' as const };
  const failed = {
    modelServing: false,
    explain: 'none' as const,
    lastError: { reason: 'digest_mismatch', message: 'expected sha256 a, got b', version: 'v3' },
  };
  it.each([
    ['NATS down', false, model, 1, { ready: false, reason: 'NATS disconnected' }],
    ['model serving', true, model, 0, { ready: true, reason: 'model v3 serving' }],
    [
      'fallback serving',
      true,
      failed,
      1,
      {
        ready: true,
        reason: 'fallback rules serving',
        degraded: 'digest_mismatch: expected sha256 a, got b; fallback rules score readings',
      },
    ],
    [
      'no artifact configured, fallback serving',
      true,
      none,
      2,
      {
        ready: true,
        reason: 'fallback rules serving',
        degraded: 'no verified model; fallback rules score readings',
      },
    ],
    [
      'no artifact and no rules',
      true,
      none,
      0,
      { ready: false, reason: 'no verified model; no fallback rules declared' },
    ],
    [
      'nothing serving',
      true,
      failed,
      0,
      { ready: false, reason: 'digest_mismatch: expected sha256 a, got b; no fallback rules declared' },
    ],
  ] as const)('%s', (_name, connected, serving, rules, expected) => {
    expect(readinessOf(connected, serving, rules)).toEqual(expected);
  });
});
