import { describe, expect, it } from 'vitest';
import { expandVars } from './expand.ts';
import { parseQuantity } from '../../../operator/framework/quantity.ts';

const vars = new Map([
  ['POD_IP', '127.0.1.2'],
  ['PORT', '8080'],
]);

describe('expandVars', () => {
  it.each([
    ['$(POD_IP):$(PORT)', '127.0.1.2:8080'],
    ['$(MISSING)', '$(MISSING)'],
    ['$$(POD_IP)', '$(POD_IP)'],
    ['a$$b', 'a$b'],
    ['$HOME', '$HOME'],
    ['$(POD_IP', '$(POD_IP'],
    ['trailing $', 'trailing $'],
    ['', ''],
  ])('%j -> %j', (input, out) => expect(expandVars(input, vars)).toBe(out));
});

describe('parseQuantity', () => {
  it.each([
    ['500m', 0.5],
    ['2', 2],
    ['128Mi', 128 * 2 ** 20],
    ['1G', 1e9],
    ['1.5Gi', 1.5 * 2 ** 30],
    ['2e3', 2000],
    ['100k', 1e5],
  ])('%s = %d', (q, n) => expect(parseQuantity(q)).toBeCloseTo(n));

  it('rejects garbage', () => expect(() => parseQuantity('12 apples')).toThrow(/invalid quantity/));
});
