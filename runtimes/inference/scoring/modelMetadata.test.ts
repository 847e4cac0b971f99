import { describe, expect, it } from 'vitest';
import { BASELINE_KEY } from '../../../contracts/modelBaseline.ts';
import { parseModelMetadata } from './modelMetadata.ts';

const props = (baseline: unknown) => new Map([[BASELINE_KEY, JSON.stringify(baseline)]]);

describe('baseline histograms', () => {
  it('accepts reference counts laid out over the bins (one more count than edges)', () => {
    const baseline = { inputs: ['a'], means: [1], bins: { a: [0, 1, 2] }, histograms: { a: [1, 2, 3, 4] } };
    expect(parseModelMetadata(props(baseline), 1).baseline?.histograms).toEqual({ a: [1, 2, 3, 4] });
  });

  it('refuses counts that do not fit the bins, or counts without bins', () => {
    const wrong = { inputs: ['a'], means: [1], bins: { a: [0, 1] }, histograms: { a: [1, 2] } };
    expect(() => parseModelMetadata(props(wrong), 1)).toThrow(/histogram of a/);
    const unbinned = { inputs: ['a'], means: [1], histograms: { a: [1] } };
    expect(() => parseModelMetadata(props(unbinned), 1)).toThrow(/histogram of a/);
  });
});
