import { describe, expect, it } from 'vitest';
import { fleetFixture } from '../testdata/fixtures.ts';
import { fleetStatus, roundRate, significantChange, trafficChanged, type StreamOutcome } from './status.ts';

const now = new Date('2026-01-01T00:10:00Z');
const okStreams: StreamOutcome = { ok: true, name: 'S', deadLetterStream: 'S_DLQ', messages: 10, bytes: 100 };

describe('fleetStatus conditions', () => {
  it.each([
    [
      'streams ensured, readings arriving',
      okStreams,
      {
        machinesSeen: 3,
        readingsPerSecond: 12.4,
        deadLettersPerSecond: 0.123,
        lastReadingTime: new Date(now.getTime() - 5_000),
      },
      ['True', 'StreamsEnsured'],
      ['True', 'ReadingsArriving'],
    ],
    ['no telemetry yet', okStreams, undefined, ['True', 'StreamsEnsured'], ['False', 'NoReadings']],
    [
      'readings stopped',
      okStreams,
      {
        machinesSeen: 3,
        readingsPerSecond: 0,
        deadLettersPerSecond: 0,
        lastReadingTime: new Date(now.getTime() - 120_000),
      },
      ['True', 'StreamsEnsured'],
      ['False', 'ReadingsStopped'],
    ],
    [
      'NATS unreachable',
      { ok: false, reason: 'NatsUnreachable', message: 'connection refused' } as StreamOutcome,
      undefined,
      ['False', 'NatsUnreachable'],
      ['False', 'NoReadings'],
    ],
  ])('%s', (_, streams, traffic, stream, receiving) => {
    const status = fleetStatus({ fleet: fleetFixture(), streams, traffic, now });
    const get = (t: string) => status.conditions!.find((c) => c.type === t)!;
    expect([get('StreamReady').status, get('StreamReady').reason]).toEqual(stream);
    expect([get('Receiving').status, get('Receiving').reason]).toEqual(receiving);
    expect(get('Ready').status).toBe(stream[0]);
    expect(status.observedGeneration).toBe(1);
  });

  it('rounds rates and formats the last reading time', () => {
    const status = fleetStatus({
      fleet: fleetFixture(),
      streams: okStreams,
      traffic: {
        machinesSeen: 2,
        readingsPerSecond: 123.456,
        deadLettersPerSecond: 0.0449,
        lastReadingTime: new Date('2026-01-01T00:09:59.700Z'),
      },
      now,
    });
    expect(status).toMatchObject({
      machinesSeen: 2,
      readingsPerSecond: 123,
      deadLettersPerSecond: 0.04,
      lastReadingTime: '2026-01-01T00:09:59Z',
      stream: { name: 'S', deadLetterStream: 'S_DLQ' },
    });
  });

  it('keeps lastTransitionTime when nothing flips', () => {
    const first = fleetStatus({ fleet: fleetFixture(), streams: okStreams, traffic: undefined, now });
    const later = new Date(now.getTime() + 60_000);
    const fleet = fleetFixture((f) => (f.status = first));
    const second = fleetStatus({ fleet, streams: okStreams, traffic: undefined, now: later });
    expect(second.conditions).toEqual(first.conditions);
    expect(significantChange(first, second)).toBe(false);
    expect(trafficChanged(first, second)).toBe(false);
  });
});

describe('roundRate', () => {
  it.each([
    [0, 0],
    [-1, 0],
    [Number.NaN, 0],
    [0.123, 0.12],
    [9.999, 10],
    [10.4, 10],
    [1234.5, 1235],
  ])('%d → %d', (rate, want) => expect(roundRate(rate)).toBe(want));
});

describe('significantChange / trafficChanged', () => {
  const base = fleetStatus({ fleet: fleetFixture(), streams: okStreams, traffic: undefined, now });
  it.each([
    ['stored counts only', { ...base, stream: { ...base.stream!, messages: 99 } }, false, false],
    ['rate only', { ...base, readingsPerSecond: 5 }, false, true],
    ['generation', { ...base, observedGeneration: 2 }, true, false],
    [
      'condition flip',
      { ...base, conditions: base.conditions!.map((c) => ({ ...c, status: 'False' as const })) },
      true,
      false,
    ],
  ])('%s', (_, next, significant, traffic) => {
    expect(significantChange(base, next)).toBe(significant);
    expect(trafficChanged(base, next)).toBe(traffic);
  });
});
