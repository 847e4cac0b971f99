import { describe, expect, it } from 'vitest';
import { parseArgs, UsageError } from './args.ts';

describe('kubectl prognos arguments', () => {
  it.each([
    [['status', 'pump'], { kind: 'status', name: 'pump', watch: false }],
    [
      ['status', 'pump', '-n', 'plant-a', '-w'],
      { kind: 'status', name: 'pump', watch: true, namespace: 'plant-a' },
    ],
    [
      ['--namespace=plant-a', 'status', '--watch', 'pump', '--context', 'prod', '--kubeconfig=/k'],
      { kind: 'status', name: 'pump', watch: true, namespace: 'plant-a', context: 'prod', kubeconfig: '/k' },
    ],
    [['promote', 'pump'], { kind: 'action', action: 'promote', name: 'pump' }],
    [['promote', '--full', 'pump'], { kind: 'action', action: 'promote-full', name: 'pump' }],
    [['abort', 'pump'], { kind: 'action', action: 'abort', name: 'pump' }],
    [['pause', 'pump'], { kind: 'action', action: 'pause', name: 'pump' }],
    [['resume', 'pump'], { kind: 'action', action: 'resume', name: 'pump' }],
    [['retry', 'pump', '-n', 'x'], { kind: 'action', action: 'retry', name: 'pump', namespace: 'x' }],
    [[], { kind: 'help' }],
    [['status', '--help'], { kind: 'help' }],
  ])('%j', (argv, expected) => {
    expect(parseArgs(argv)).toEqual(expected);
  });

  it.each([
    [['status'], 'status needs the name of a MaintenanceModel'],
    [['status', 'a', 'b'], 'unexpected argument b'],
    [['promote', 'a', '-w'], '--watch is only for status'],
    [['abort', 'a', '--full'], '--full is only for promote'],
    [['promote-full', 'a'], 'unknown command promote-full'],
    [['rollback', 'a'], 'unknown command rollback'],
    [['bogus'], 'unknown command bogus'],
    [['status', 'a', '-n'], '-n needs a value'],
    [['status', 'a', '--bogus'], 'unknown flag --bogus'],
  ])('refuses %j', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(new UsageError(message));
  });
});
