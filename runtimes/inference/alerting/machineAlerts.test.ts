import { describe, expect, it } from 'vitest';
import type { AlertState } from '../decision/alerts.ts';
import type { AlertEvent, AlertRefresh } from '../pipeline/pipeline.ts';
import type { MachineAlert } from './machineAlert.ts';
import { deliveriesOf } from './machineAlert.ts';
import { MachineAlerts } from './machineAlerts.ts';

const common = {
  score: 0.9,
  healthScore: 10,
  contributions: { vibration: 0.4 },
  model: 'm',
  modelVersion: 'v1',
  role: 'stable' as const,
  fallback: false,
};
const transition = (
  from: AlertEvent['from'],
  to: AlertEvent['to'],
  ts: number,
  previousSince?: number,
): AlertEvent => ({
  machineId: 'p-1',
  from,
  to,
  ts,
  ...(previousSince !== undefined ? { previousSince } : {}),
  ...common,
});
const refresh = (severity: AlertRefresh['severity'], since: number, ts: number): AlertRefresh => ({
  machineId: 'p-1',
  severity,
  since,
  ts,
  score: 0.9,
  healthScore: 10,
  contributions: { vibration: 0.4 },
  modelVersion: 'v1',
  fallback: false,
});

function harness(room = Infinity) {
  let t = 1_000;
  const writes: [string, { severity: string; since: number } | null][] = [];
  const sent: MachineAlert[] = [];
  const restored: [string, AlertState | null][] = [];
  const alerts = new MachineAlerts({
    store: { write: (id, s) => writes.push([id, s]) },
    sink: { send: (a) => sent.push(a), room: () => room },
    restore: (states) => restored.push(...states),
    refreshMs: 60_000,
    idleMs: 3_600_000,
    now: () => t,
  });
  return { alerts, writes, sent, restored, advance: (ms: number) => (t += ms) };
}

describe('transitions as Alertmanager deliveries', () => {
  it('an escalation resolves the warning and fires the critical (severity is a label)', () => {
    const d = deliveriesOf(transition('warning', 'critical', 20, 10));
    expect(d.map((x) => [x.severity, x.firing, x.since])).toEqual([
      ['warning', false, 10],
      ['critical', true, 20],
    ]);
  });
  it('ok to warning fires only; back to ok resolves only', () => {
    expect(deliveriesOf(transition('ok', 'warning', 5)).map((x) => x.firing)).toEqual([true]);
    expect(deliveriesOf(transition('warning', 'ok', 9, 5)).map((x) => [x.firing, x.since])).toEqual([
      [false, 5],
    ]);
  });
});

describe('machine alerts on the main thread', () => {
  it('a transition is written to the shared state and sent; ok is written as ok and resolves', () => {
    const h = harness();
    h.alerts.onBatch([transition('ok', 'critical', 100)], []);
    h.alerts.onBatch([transition('critical', 'ok', 200, 100)], []);
    expect(h.writes).toEqual([
      ['p-1', { severity: 'critical', since: 100 }],
      ['p-1', null],
    ]);
    expect(h.sent.map((a) => `${a.severity}:${a.firing}`)).toEqual(['critical:true', 'critical:false']);
    expect(h.alerts.active.size).toBe(0);
  });

  it('re-sends active alerts every refresh interval, also without readings, until the machine is idle', () => {
    const h = harness();
    h.alerts.onBatch([transition('ok', 'warning', 100)], []);
    h.advance(59_000);
    h.alerts.tick();
    expect(h.sent).toHaveLength(1);
    h.advance(1_000);
    h.alerts.tick();
    expect(h.sent).toHaveLength(2);
    expect(h.writes).toHaveLength(2);
    h.advance(3_600_000);
    h.alerts.tick();
    // Idle: let go without a resolution (Alertmanager ends it at its endsAt).
    expect(h.sent).toHaveLength(2);
    expect(h.alerts.active.size).toBe(0);
  });

  it('a refresh (e.g. a machine taken over with a restored critical) is sent, written and held', () => {
    const h = harness();
    h.alerts.onBatch([], [refresh('critical', 50, 300)]);
    expect(h.sent.map((a) => [a.severity, a.firing, a.since])).toEqual([['critical', true, 50]]);
    expect(h.writes).toEqual([['p-1', { severity: 'critical', since: 50 }]]);
    expect(h.alerts.active.get('p-1')?.alert.ts).toBe(300);
  });

  it('another replica writing a machine takes it over: its state goes to the worker, this one lets go', () => {
    const h = harness();
    h.alerts.onBatch([transition('ok', 'critical', 100)], []);
    h.alerts.onForeign('p-1', { severity: 'critical', since: 100, writer: 'other', updatedAt: 0 });
    h.alerts.onForeign('p-2', { severity: 'ok', since: 0, writer: 'other', updatedAt: 0 });
    expect(h.restored).toEqual([
      ['p-1', { severity: 'critical', since: 100 }],
      ['p-2', null],
    ]);
    h.advance(120_000);
    h.alerts.tick();
    expect(h.sent).toHaveLength(1);
  });

  it('refreshes only as many as the delivery queue has room for; the rest stay due', () => {
    const h = harness(1);
    h.alerts.onBatch(
      [transition('ok', 'warning', 100), { ...transition('ok', 'critical', 100), machineId: 'p-2' }],
      [],
    );
    h.advance(60_000);
    h.alerts.tick();
    expect(h.sent.slice(2).map((a) => a.machineId)).toEqual(['p-1']);
    h.alerts.tick();
    expect(h.sent.slice(3).map((a) => a.machineId)).toEqual(['p-2']);
  });
});
