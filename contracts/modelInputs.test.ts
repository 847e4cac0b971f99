import { describe, expect, it } from 'vitest';
import { resolveInput, resolveSequenceInputs, windowNameClashes, type WindowRef } from './modelInputs.ts';

const features = new Set(['vibration', 'temperature', 'pressure']);
const windows: WindowRef[] = [
  { feature: 'vibration', name: '5m', aggregations: ['rms', 'mean'] },
  { feature: 'vibration', name: '1h', aggregations: ['rms'] },
  { feature: 'temperature', aggregations: ['mean', 'slope'] },
  { feature: 'pressure', name: 'default', aggregations: ['max'] },
  { feature: 'pressure', name: 'long', aggregations: ['max'] },
];

describe('resolveInput', () => {
  it.each([
    ['temperature', { kind: 'latest', feature: 'temperature' }],
    ['vibration.rms@5m', { kind: 'window', window: 0, aggregation: 'rms' }],
    ['vibration.rms@1h', { kind: 'window', window: 1, aggregation: 'rms' }],
    ['temperature.slope', { kind: 'window', window: 2, aggregation: 'slope' }], // the only window
    ['temperature.slope@default', { kind: 'window', window: 2, aggregation: 'slope' }],
    ['pressure.max', { kind: 'window', window: 3, aggregation: 'max' }], // the one named default
    ['pressure.max@long', { kind: 'window', window: 4, aggregation: 'max' }],
    ['vibration@1h', { kind: 'samples', window: 1 }], // raw values, for a sequence model
  ])('%s resolves', (input, expected) => {
    expect(resolveInput(input, features, windows)).toMatchObject({ ok: true, ...expected });
  });

  it.each([
    ['humidity', 'no feature humidity'],
    ['vibration.median', 'unknown aggregation median'],
    ['vibration.rms', 'vibration has several windows (5m, 1h): name one, e.g. vibration.rms@5m'],
    ['vibration.rms@1d', 'no window named 1d over vibration (its windows: 5m, 1h)'],
    ['vibration.mean@1h', 'window 1h over vibration does not compute mean'],
    ['temperature@5m', 'no window named 5m over temperature (its windows: default)'],
  ])('%s is refused: %s', (input, problem) => {
    expect(resolveInput(input, features, windows)).toEqual({ ok: false, problem });
  });

  it('two windows of one feature need distinct names', () => {
    expect(windowNameClashes(windows)).toEqual([]);
    expect(
      windowNameClashes([
        { feature: 'vibration', aggregations: ['rms'] },
        { feature: 'vibration', name: 'default', aggregations: ['mean'] },
      ]),
    ).toEqual([{ index: 1, problem: 'feature vibration already has a window named default' }]);
  });

  it('a sequence model reads each input from a window that keeps at least T readings', () => {
    const sized: WindowRef[] = [
      { feature: 'vibration', name: '5m', size: 300, aggregations: ['rms'] },
      { feature: 'vibration', name: '1h', size: 3600, aggregations: ['rms'] },
      { feature: 'temperature', size: 30, aggregations: ['mean'] },
      { feature: 'pressure', size: 10, aggregations: ['max'] },
    ];
    expect(resolveSequenceInputs(['vibration@1h', 'temperature'], features, sized, 30)).toEqual({
      ok: true,
      windows: [1, 2],
    });
    expect(
      resolveSequenceInputs(['vibration', 'temperature.mean', 'pressure', 'humidity'], features, sized, 30),
    ).toEqual({
      ok: false,
      problems: [
        'vibration: a sequence model reads a window of raw values: vibration has several windows (5m, 1h): name one, e.g. vibration@5m',
        'temperature.mean: a sequence model reads raw values, not an aggregation',
        'pressure: the model takes the last 30 readings but window default over pressure keeps 10',
        'humidity: no feature humidity',
      ],
    });
  });
});
