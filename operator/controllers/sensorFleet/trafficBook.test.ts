import { describe, expect, it } from 'vitest';
import type { TelemetryMessage } from '../../../contracts/telemetry.ts';
import { TrafficBook } from './trafficBook.ts';

function msg(
  patch: Partial<TelemetryMessage> & { messages?: number; deadLetters?: number; filtered?: number },
): TelemetryMessage {
  const { messages = 0, deadLetters = 0, filtered = 0, ...rest } = patch;
  return {
    schema: 1,
    namespace: 'ns',
    model: 'm',
    version: 'v1',
    role: 'stable',
    instance: 'pod-a',
    from: 0,
    to: 10_000,
    serving: { modelServing: true, explain: 'auto' },
    machines: 3,
    counts: {
      messages,
      predictions: 0,
      deadLetters,
      filtered,
      fallback: 0,
      scoreErrors: 0,
      alerts: 0,
      batches: 0,
      rowsRun: 0,
    },
    deadLettersByReason: {},
    latencyMs: { edges: [], counts: [], count: 0, sum: 0 },
    blockingMs: { edges: [], counts: [], count: 0, sum: 0 },
    scores: { edges: [], counts: [], count: 0, sum: 0 },
    features: {},
    featureBins: 'schema',
    eventLoopLagP99Ms: 0,
    ...rest,
  } as TelemetryMessage;
}

describe('TrafficBook', () => {
  it.each<[string, [TelemetryMessage, string][], object | undefined]>([
    ['nothing reported', [], undefined],
    [
      'one replica',
      [[msg({ messages: 110, deadLetters: 10 }), 'f']],
      { readingsPerSecond: 10, deadLettersPerSecond: 1, machinesSeen: 3, lastReadingTime: new Date(10_000) },
    ],
    [
      'replicas of a model add up',
      [
        [msg({ messages: 100 }), 'f'],
        [msg({ messages: 50, instance: 'pod-b', machines: 2 }), 'f'],
      ],
      { readingsPerSecond: 15, machinesSeen: 5 },
    ],
    [
      'two models on one fleet are not summed',
      [
        [msg({ messages: 100 }), 'f'],
        [msg({ messages: 100, model: 'other' }), 'f'],
      ],
      { readingsPerSecond: 10 },
    ],
    [
      'shadows and filtered readings are not counted twice',
      [
        [msg({ messages: 100, filtered: 20 }), 'f'],
        [msg({ messages: 100, filtered: 80, role: 'canary', instance: 'c' }), 'f'],
        [msg({ messages: 100, role: 'shadow', instance: 's' }), 'f'],
      ],
      { readingsPerSecond: 10 },
    ],
    ['idle runtime: zero rate, no reading time', [[msg({}), 'f']], { readingsPerSecond: 0, machinesSeen: 3 }],
    ['another fleet', [[msg({ messages: 100 }), 'g']], undefined],
  ])('%s', (_, messages, want) => {
    const book = new TrafficBook();
    for (const [m, fleet] of messages) book.record(m, fleet, 1_000);
    const traffic = book.traffic('ns/f', 2_000);
    if (want === undefined) expect(traffic).toBeUndefined();
    else expect(traffic).toMatchObject(want);
  });

  it('stale windows stop counting but the last reading time stays', () => {
    const book = new TrafficBook();
    book.record(msg({ messages: 100 }), 'f', 0);
    expect(book.traffic('ns/f', 60_000)).toEqual({
      machinesSeen: 0,
      readingsPerSecond: 0,
      deadLettersPerSecond: 0,
      lastReadingTime: new Date(10_000),
    });
  });
});
