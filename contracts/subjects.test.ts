import { describe, expect, it } from 'vitest';
import {
  alertSubject,
  deadLetterSubject,
  labelSubject,
  predictionSubject,
  telemetrySubject,
} from './subjects.ts';

describe('data-plane subjects', () => {
  it.each([
    [predictionSubject('plant-a', 'pump', 'm-1'), 'prognos.predictions.plant-a.pump.m-1'],
    [alertSubject('plant-a', 'pump', 'm-1'), 'prognos.alerts.plant-a.pump.m-1'],
    [deadLetterSubject('plant-a', 'pumps'), 'prognos.deadletter.plant-a.pumps'],
    [telemetrySubject('plant-a', 'pump', 'v3'), 'prognos.telemetry.plant-a.pump.v3'],
    [labelSubject('plant-a', 'pumps', 'm-1'), 'prognos.labels.plant-a.pumps.m-1'],
  ])('%s', (actual, expected) => {
    expect(actual).toBe(expected);
  });
});
