import { pino } from 'pino';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { PostableAlert } from './alertmanagerPayload.ts';
import type { PostOutcome } from './alertmanagerClient.ts';
import { startAlertmanagerSink, type AlertSinkMetrics } from './alertmanagerSink.ts';
import type { MachineAlert } from './machineAlert.ts';

function metrics(): AlertSinkMetrics {
  const registers = [new Registry()];
  return {
    alerts: new Counter({ name: 'a', help: 'a', labelNames: ['outcome'], registers }),
    postFailures: new Counter({ name: 'f', help: 'f', registers }),
    pending: new Gauge({ name: 'p', help: 'p', registers }),
    deliverySeconds: new Histogram({ name: 'd', help: 'd', registers }),
  };
}
const count = async (m: AlertSinkMetrics, outcome: string) =>
  (await m.alerts.get()).values.find((v) => v.labels.outcome === outcome)?.value ?? 0;

const alert = (machineId: string, firing = true): MachineAlert => ({
  machineId,
  severity: 'critical',
  firing,
  since: 0,
  ts: 0,
  score: 1,
  healthScore: 0,
  contributions: {},
  modelVersion: 'v1',
  fallback: false,
});

/** A post that answers from `outcomes` in turn (then ok) and records what it was sent. */
function scripted(outcomes: PostOutcome[]) {
  const bodies: PostableAlert[][] = [];
  return {
    bodies,
    post: (alerts: PostableAlert[]) => {
      bodies.push(alerts);
      return Promise.resolve(outcomes.shift() ?? { ok: true as const });
    },
  };
}

const sinkWith = (post: (a: PostableAlert[]) => Promise<PostOutcome>, m: AlertSinkMetrics, maxPending = 10) =>
  startAlertmanagerSink({
    post,
    namespace: 'ns',
    model: 'm',
    endsAfterMs: 1000,
    maxPending,
    maxBatch: 2,
    retry: { initialMs: 5, maxMs: 20 },
    metrics: m,
    logger: pino({ level: 'silent' }),
  });
const until = async (cond: () => boolean | Promise<boolean>) => {
  for (let i = 0; i < 200 && !(await cond()); i++) await new Promise((r) => setTimeout(r, 5));
};

describe('Alertmanager sink', () => {
  it('retries failures with backoff and delivers each alert once, in batches of maxBatch', async () => {
    const m = metrics();
    const fail: PostOutcome = { ok: false, retry: true, error: 'ECONNREFUSED' };
    const s = scripted([fail, fail]);
    const sink = sinkWith(s.post, m);
    for (const id of ['a', 'b', 'c']) sink.send(alert(id));
    await until(async () => (await count(m, 'sent')) === 3);
    expect(await count(m, 'sent')).toBe(3);
    expect((await m.postFailures.get()).values[0]!.value).toBe(2);
    // Two failed attempts of the first batch, then it and the rest.
    expect(s.bodies.map((b) => b.map((a) => a.labels['machine']))).toEqual([
      ['a', 'b'],
      ['a', 'b'],
      ['a', 'b'],
      ['c'],
    ]);
    expect(sink.pending()).toBe(0);
    await sink.stop(100);
  });

  it('drops what Alertmanager rejects (a 4xx) and counts it', async () => {
    const m = metrics();
    const sink = sinkWith(scripted([{ ok: false, retry: false, error: 'HTTP 400' }]).post, m);
    sink.send(alert('a'));
    await until(async () => (await count(m, 'rejected')) === 1);
    expect(await count(m, 'rejected')).toBe(1);
    await sink.stop(100);
  });

  it('a newer state of a queued alert replaces it; a full queue drops the oldest and counts it', async () => {
    const m = metrics();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const bodies: PostableAlert[][] = [];
    const sink = sinkWith(
      async (alerts) => {
        bodies.push(alerts);
        await gate;
        return { ok: true };
      },
      m,
      2,
    );
    sink.send(alert('in-flight'));
    await until(() => bodies.length === 1);
    sink.send(alert('a'));
    sink.send(alert('a', false));
    sink.send(alert('b'));
    sink.send(alert('c'));
    expect(await count(m, 'dropped')).toBe(1);
    expect(sink.room()).toBe(0);
    release();
    await until(() => bodies.length === 2);
    expect(bodies[1]!.map((a) => a.labels['machine'])).toEqual(['b', 'c']);
    await sink.stop(100);
  });

  it('stop delivers what is queued, and gives up at the grace period when Alertmanager stays down', async () => {
    const m = metrics();
    const ok = sinkWith(scripted([]).post, m);
    ok.send(alert('a'));
    await ok.stop(1000);
    expect(await count(m, 'sent')).toBe(1);

    const down = sinkWith(() => Promise.resolve({ ok: false, retry: true, error: 'down' }), metrics());
    down.send(alert('a'));
    const started = Date.now();
    await down.stop(60);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(down.pending()).toBe(1);
  });
});
