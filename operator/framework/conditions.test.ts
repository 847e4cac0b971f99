import { describe, expect, it } from 'vitest';
import {
  getCondition,
  isConditionTrue,
  rfc3339,
  setCondition,
  statusChanged,
  type Condition,
} from './conditions.ts';

const t0 = new Date('2025-01-01T00:00:00.123Z');
const t1 = new Date('2025-01-01T00:05:00.999Z');
const ready: Condition = {
  type: 'Ready',
  status: 'True',
  reason: 'Serving',
  message: 'ok',
  observedGeneration: 1,
  lastTransitionTime: '2025-01-01T00:00:00Z',
};

describe('rfc3339', () => {
  it('drops sub-second precision like metav1.Time', () => expect(rfc3339(t0)).toBe('2025-01-01T00:00:00Z'));
});

describe('setCondition', () => {
  const cases: {
    name: string;
    list: Condition[] | undefined;
    input: Omit<Condition, 'lastTransitionTime'>;
    want: Condition[];
  }[] = [
    {
      name: 'adds to an empty list',
      list: undefined,
      input: { type: 'Ready', status: 'True', reason: 'Serving', message: 'ok', observedGeneration: 1 },
      want: [{ ...ready, lastTransitionTime: '2025-01-01T00:05:00Z' }],
    },
    {
      name: 'keeps lastTransitionTime when the status is unchanged',
      list: [ready],
      input: {
        type: 'Ready',
        status: 'True',
        reason: 'StillServing',
        message: 'fine',
        observedGeneration: 2,
      },
      want: [{ ...ready, reason: 'StillServing', message: 'fine', observedGeneration: 2 }],
    },
    {
      name: 'moves lastTransitionTime when the status flips',
      list: [ready],
      input: { type: 'Ready', status: 'False', reason: 'Down', message: 'no pods', observedGeneration: 2 },
      want: [
        {
          type: 'Ready',
          status: 'False',
          reason: 'Down',
          message: 'no pods',
          observedGeneration: 2,
          lastTransitionTime: '2025-01-01T00:05:00Z',
        },
      ],
    },
    {
      name: 'appends a new type and keeps order',
      list: [ready],
      input: { type: 'Available', status: 'Unknown', reason: 'Pending', message: '' },
      want: [
        ready,
        {
          type: 'Available',
          status: 'Unknown',
          reason: 'Pending',
          message: '',
          lastTransitionTime: '2025-01-01T00:05:00Z',
        },
      ],
    },
  ];
  it.each(cases)('$name', ({ list, input, want }) => {
    const before = structuredClone(list);
    expect(setCondition(list, input, t1)).toEqual(want);
    expect(list).toEqual(before);
  });

  it('is idempotent: setting the same condition twice changes nothing', () => {
    const once = setCondition([ready], { ...ready }, t1);
    expect(statusChanged({ conditions: [ready] }, { conditions: once })).toBe(false);
  });

  it('reads conditions', () => {
    expect(getCondition([ready], 'Ready')).toBe(ready);
    expect(isConditionTrue([ready], 'Ready')).toBe(true);
    expect(isConditionTrue([ready], 'Available')).toBe(false);
  });
});

describe('statusChanged', () => {
  it.each([
    ['identical', { a: 1, b: [1, 2] }, { a: 1, b: [1, 2] }, false],
    ['key order', { a: 1, b: 2 }, { b: 2, a: 1 }, false],
    ['undefined vs absent', { a: 1 }, { a: 1, b: undefined }, false],
    ['undefined vs empty', undefined, {}, false],
    ['value differs', { a: 1 }, { a: 2 }, true],
    ['nested differs', { c: [{ type: 'R', status: 'True' }] }, { c: [{ type: 'R', status: 'False' }] }, true],
    ['array order', { a: [1, 2] }, { a: [2, 1] }, true],
    ['array vs object', { a: [] }, { a: {} }, true],
    ['null vs absent', { a: null }, {}, false],
    ['null vs value', { a: null }, { a: 0 }, true],
    ['number vs string', { a: 1 }, { a: '1' }, true],
  ])('%s', (_name, a, b, changed) => expect(statusChanged(a, b)).toBe(changed));
});
