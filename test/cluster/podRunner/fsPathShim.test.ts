import { describe, expect, it } from 'vitest';
import { wrapPathFunctions } from './fsPathShim.ts';

describe('wrapPathFunctions', () => {
  it('translates the path argument under a mount and passes everything else through', () => {
    const calls: unknown[][] = [];
    const readFileSync = (...args: unknown[]): string => {
      calls.push(args);
      return 'ok';
    };
    const target: Record<string, unknown> = { readFileSync, other: 1 };
    Object.assign(readFileSync, { marker: true });
    wrapPathFunctions(
      target,
      ['readFileSync', 'missing', 'other'],
      [{ mountPath: '/var/run/secrets/sa', localPath: '/state/pods/u/volumes/sa' }],
    );
    const wrapped = target['readFileSync'] as (...a: unknown[]) => string;
    expect(wrapped('/var/run/secrets/sa/token', 'utf8')).toBe('ok');
    wrapped('/etc/hosts');
    wrapped(3);
    expect(calls).toEqual([['/state/pods/u/volumes/sa/token', 'utf8'], ['/etc/hosts'], [3]]);
    expect((wrapped as unknown as { marker: boolean }).marker).toBe(true);
    expect(target['other']).toBe(1);
  });
});
