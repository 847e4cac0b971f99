import { describe, expect, it } from 'vitest';
import { livenessOf, type WorkerProgress } from './liveness.ts';

const limits = { heartbeatTimeoutMs: 30_000, maxBatchAgeMs: 60_000 };
const NOW = 1_000_000;

describe('livenessOf', () => {
  it.each<[string, WorkerProgress | undefined, boolean, string]>([
    ['still starting (no worker yet)', undefined, true, 'starting'],
    [
      'idle worker with a fresh heartbeat',
      { lastHeartbeatAt: NOW - 400, oldestBatchAt: undefined },
      true,
      'making progress',
    ],
    [
      'heartbeat exactly at the limit',
      { lastHeartbeatAt: NOW - 30_000, oldestBatchAt: undefined },
      true,
      'making progress',
    ],
    [
      'heartbeat past the limit',
      { lastHeartbeatAt: NOW - 30_001, oldestBatchAt: undefined },
      false,
      'pipeline worker silent for 30001 ms (limit 30000 ms)',
    ],
    [
      'a batch in progress, young',
      { lastHeartbeatAt: NOW - 10, oldestBatchAt: NOW - 5_000 },
      true,
      'making progress',
    ],
    [
      'a batch exactly at the limit',
      { lastHeartbeatAt: NOW - 10, oldestBatchAt: NOW - 60_000 },
      true,
      'making progress',
    ],
    [
      'a batch past the limit while heartbeats go on',
      { lastHeartbeatAt: NOW - 10, oldestBatchAt: NOW - 60_500 },
      false,
      'oldest unacknowledged batch is 60500 ms old (limit 60000 ms)',
    ],
    [
      'both past: the silent thread is the reason',
      { lastHeartbeatAt: NOW - 40_000, oldestBatchAt: NOW - 90_000 },
      false,
      'pipeline worker silent for 40000 ms',
    ],
  ])('%s', (_, progress, live, reason) => {
    const result = livenessOf(progress, NOW, limits);
    expect(result.live).toBe(live);
    expect(result.reason).toContain(reason);
  });
});
