import { describe, expect, it } from 'vitest';
import type { Metric, RetrainPolicySpec } from '../../api/retrainPolicy.ts';
import type { TrainingResult } from '../../../contracts/training.ts';
import { gate } from './gate.ts';

type Evaluation = RetrainPolicySpec['evaluation'];

const evaluation = (metric: Metric, over: Partial<Evaluation> = {}): Evaluation => ({
  metric,
  mustBeatStable: true,
  minImprovement: 0,
  ...over,
});

const result = (metric: string, candidateMetric: number, stableMetric?: number): TrainingResult => ({
  candidate: { version: 'pump-failure-rt-1', uri: 'nats-os://prognos-models/c', sha256: 'c'.repeat(64) },
  metric,
  candidateMetric,
  ...(stableMetric !== undefined ? { stableMetric } : {}),
  rows: { train: 800, holdout: 200 },
});

describe('gate', () => {
  it.each([
    // Higher is better.
    ['f1 better', 'f1', 0.82, 0.8, true, "f1 0.82 beats the stable's 0.8 (0.02 better)"],
    ['f1 worse', 'f1', 0.78, 0.8, false, "f1 0.78 does not beat the stable's 0.8 (0.02 worse)"],
    ['f1 tie', 'f1', 0.8, 0.8, false, "f1 0.8 does not beat the stable's 0.8 (0 better)"],
    ['precision better', 'precision', 0.9, 0.85, true, "precision 0.9 beats the stable's 0.85 (0.05 better)"],
    ['recall worse', 'recall', 0.6, 0.7, false, "recall 0.6 does not beat the stable's 0.7 (0.1 worse)"],
    // Errors: lower is better.
    ['rmse lower', 'rmse', 11.5, 12, true, "rmse 11.5 beats the stable's 12 (0.5 better)"],
    ['rmse higher', 'rmse', 12.5, 12, false, "rmse 12.5 does not beat the stable's 12 (0.5 worse)"],
    ['rmse tie', 'rmse', 12, 12, false, "rmse 12 does not beat the stable's 12 (0 better)"],
    ['mae lower', 'mae', 3, 4, true, "mae 3 beats the stable's 4 (1 better)"],
    ['mae higher', 'mae', 4.25, 4, false, "mae 4.25 does not beat the stable's 4 (0.25 worse)"],
  ] as const)('%s', (_name, metric, candidate, stable, passed, message) => {
    expect(gate(evaluation(metric), result(metric, candidate, stable))).toEqual({ passed, message });
  });

  it.each([
    [
      'below minImprovement',
      'f1',
      0.84,
      0.8,
      0.05,
      false,
      "f1 0.84 does not beat the stable's 0.8 by at least 0.05 (0.04 better)",
    ],
    [
      'exactly minImprovement',
      'f1',
      0.85,
      0.8,
      0.05,
      true,
      "f1 0.85 beats the stable's 0.8 by at least 0.05 (0.05 better)",
    ],
    [
      'above minImprovement',
      'f1',
      0.86,
      0.8,
      0.05,
      true,
      "f1 0.86 beats the stable's 0.8 by at least 0.05 (0.06 better)",
    ],
    // Decimal figures whose binary difference falls a hair short of minImprovement still meet it.
    [
      'exactly minImprovement, in decimals',
      'f1',
      0.57,
      0.56,
      0.01,
      true,
      "f1 0.57 beats the stable's 0.56 by at least 0.01 (0.01 better)",
    ],
    [
      'exactly minImprovement, an error metric',
      'rmse',
      9.5,
      10,
      0.5,
      true,
      "rmse 9.5 beats the stable's 10 by at least 0.5 (0.5 better)",
    ],
    [
      'below minImprovement, an error metric',
      'rmse',
      9.75,
      10,
      0.5,
      false,
      "rmse 9.75 does not beat the stable's 10 by at least 0.5 (0.25 better)",
    ],
  ] as const)('%s', (_name, metric, candidate, stable, need, passed, message) => {
    expect(gate(evaluation(metric, { minImprovement: need }), result(metric, candidate, stable))).toEqual({
      passed,
      message,
    });
  });

  it('counts a difference of a few ulps as a tie', () => {
    expect(gate(evaluation('f1'), result('f1', 0.1 + 0.2, 0.3)).passed).toBe(false);
    expect(gate(evaluation('rmse'), result('rmse', 0.3, 0.1 + 0.2)).passed).toBe(false);
  });

  it('passes without comparing when mustBeatStable is off', () => {
    expect(gate(evaluation('f1', { mustBeatStable: false }), result('f1', 0.5, 0.9))).toEqual({
      passed: true,
      message: 'f1 0.5 (the gate does not compare with the stable)',
    });
  });

  it('passes when no stable was scored (a first model)', () => {
    expect(gate(evaluation('rmse'), result('rmse', 14.2))).toEqual({
      passed: true,
      message: 'rmse 14.2; no stable was scored to compare with',
    });
  });

  it('fails a result measured in another metric, whatever its figures', () => {
    expect(gate(evaluation('f1'), result('rmse', 1, 100))).toEqual({
      passed: false,
      message: 'the trainer measured rmse, the gate compares f1',
    });
    expect(gate(evaluation('f1', { mustBeatStable: false }), result('recall', 1)).passed).toBe(false);
  });
});
