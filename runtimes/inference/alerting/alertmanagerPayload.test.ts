import { describe, expect, it } from 'vitest';
import { ALERT_NAME, formatContributions, postableAlert } from './alertmanagerPayload.ts';
import type { MachineAlert } from './machineAlert.ts';

const ctx = { namespace: 'plant-a', model: 'pump-rul', endsAfterMs: 240_000 };
const alert: MachineAlert = {
  machineId: 'p-7',
  severity: 'critical',
  firing: true,
  since: Date.parse('2026-01-01T00:00:00Z'),
  ts: Date.parse('2026-01-01T00:05:00Z'),
  score: 12.5,
  healthScore: 4.2,
  rulCycles: 12.5,
  contributions: { temperature: -0.02, vibration: 0.31, pressure: 0.1 },
  modelVersion: 'v3',
  fallback: false,
};
const now = Date.parse('2026-01-01T00:06:00Z');

describe('Alertmanager payload', () => {
  it('labels identify machine and severity; annotations carry health, RUL and top contributions', () => {
    expect(postableAlert(alert, ctx, now)).toEqual({
      labels: {
        alertname: ALERT_NAME,
        namespace: 'plant-a',
        model: 'pump-rul',
        machine: 'p-7',
        severity: 'critical',
      },
      annotations: {
        summary: 'Machine p-7 is critical (plant-a/pump-rul)',
        health_score: '4.2',
        score: '12.5',
        rul_cycles: '12.5',
        model_version: 'v3',
        top_contributions: 'vibration=+0.310, pressure=+0.100, temperature=-0.020',
      },
      startsAt: '2026-01-01T00:00:00.000Z',
      endsAt: '2026-01-01T00:10:00.000Z',
    });
  });

  it('a resolution ends now; a start ahead of this clock is brought back to now', () => {
    const resolved = postableAlert(
      { ...alert, firing: false, since: now + 60_000, fallback: true },
      ctx,
      now,
    );
    expect(resolved.startsAt).toBe('2026-01-01T00:06:00.000Z');
    expect(resolved.endsAt).toBe('2026-01-01T00:06:00.000Z');
    expect(resolved.annotations['fallback']).toBe('true');
  });

  it('omits what a model does not give', () => {
    const noRul: MachineAlert = { ...alert, contributions: {} };
    delete noRul.rulCycles;
    const p = postableAlert(noRul, ctx, now);
    expect(p.annotations).not.toHaveProperty('rul_cycles');
    expect(p.annotations).not.toHaveProperty('top_contributions');
    expect(formatContributions({ a: 0 })).toBe('a=+0.000');
  });
});
