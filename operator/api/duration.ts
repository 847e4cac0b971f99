import { DURATION_PATTERN } from './meta.ts';

const unitMs: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 };
const durationRegex = new RegExp(DURATION_PATTERN);

/**
 * Milliseconds in a Prognos duration (`90s`, `5m`, `6h`, `7d`, `1h30m`), the format every duration
 * field of the API accepts. Throws on anything else, so a caller that skipped validation fails loudly.
 */
export function parseDuration(text: string): number {
  if (text === '' || !durationRegex.test(text)) {
    throw new Error(`invalid duration ${JSON.stringify(text)}: expected e.g. 90s, 5m, 6h, 7d or 1h30m`);
  }
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/([0-9]+)(ms|d|h|m|s)/g)) {
    total += Number(amount) * unitMs[unit!]!;
  }
  return total;
}
