// Machine alerts into a real Alertmanager (v0.35.0, built from the Go module proxy) from the
// inference runtime on a real nats-server: a transition fires an alert with the machine's labels and
// its health, RUL and contributions as annotations; refreshes and repeats stay one alert; an
// escalation replaces the warning with the critical; a return to ok resolves it; a restarted runtime
// continues from the shared alert state (no second firing on NATS, keeps refreshing, resolves); and
// with Alertmanager down scoring goes on, deliveries are retried and arrive once it is back, and a
// full queue drops (counted) and heals on the next refresh.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RuntimeConfig } from '../../contracts/runtimeConfig.ts';
import { ALERT_NAME } from '../../runtimes/inference/alerting/alertmanagerPayload.ts';
import { startRuntime, type Runtime } from '../../runtimes/inference/runtime.ts';
import { startAlertmanager, type Alertmanager } from '../cluster/alertmanager.ts';
import { ensureBinaries } from '../cluster/binaries.ts';
import {
  collect,
  connectTo,
  NAMESPACE,
  reading,
  readingSubject,
  runtimeConfig,
  startTestNats,
  waitUntil,
  type TestNats,
} from './inferenceHarness.ts';

const logger = pino({ level: 'warn' });
let nats: TestNats;
let nc: NatsConnection;
let js: JetStreamClient;
let am: Alertmanager;
let amDir: string;

interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  status: { state: string };
}

async function amAlerts(model: string): Promise<AmAlert[]> {
  const res = await am.get(`/api/v2/alerts?filter=${encodeURIComponent(`model="${model}"`)}`);
  expect(res.status).toBe(200);
  return (JSON.parse(res.body) as AmAlert[]).sort((a, b) =>
    (a.labels['machine'] ?? '').localeCompare(b.labels['machine'] ?? ''),
  );
}

/** A rules-only runtime (no artifact): temperature above 95 is critical, vibration above 40 a warning. */
function alertingConfig(model: string, alertmanager: Record<string, unknown>): RuntimeConfig {
  const config = runtimeConfig(
    nats.server.url,
    { uri: 'file:///unused', sha256: 'a'.repeat(64) },
    {
      model,
      input: {
        mode: 'jetstream',
        subject: 'plant-a.pumps.*.readings',
        stream: 'plant-a-pumps',
        durable: model,
        machineId: { subjectToken: 3 },
      },
      fallback: {
        rules: [
          { feature: 'temperature', above: 95, severity: 'critical' },
          { feature: 'vibration', above: 40, severity: 'warning' },
        ],
      },
      alerting: { alertmanager: { url: am.url, ...alertmanager } },
    },
  );
  delete config.artifact;
  return config;
}

const send = (machine: string, extra: Record<string, unknown> = {}) =>
  js.publish(readingSubject(machine), reading(1, extra));
const critical = { temperature: 99 };
const warning = { vibration: 45 };

async function metric(rt: Runtime, outcome: string): Promise<number> {
  const m = await rt.metrics.alertmanager.alerts.get();
  return m.values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
}

beforeAll(async () => {
  nats = await startTestNats();
  nc = await connectTo(nats.server.url);
  js = jetstream(nc);
  await (
    await jetstreamManager(nc)
  ).streams.add({ name: 'plant-a-pumps', subjects: ['plant-a.pumps.*.readings'] });
  amDir = mkdtempSync(join(tmpdir(), 'prognos-alertmanager-'));
  am = await startAlertmanager({ binary: (await ensureBinaries()).alertmanager, dir: amDir });
}, 120_000);

afterAll(async () => {
  await am?.stop();
  await nc?.close();
  await nats?.cleanup();
  if (amDir) rmSync(amDir, { recursive: true, force: true });
});

describe('machine alerts into Alertmanager', () => {
  const MODEL = 'pump-alerts';
  let rt: Runtime;
  const transitions = () => collect(nc, `prognos.alerts.${NAMESPACE}.${MODEL}.>`);

  beforeAll(async () => {
    rt = await startRuntime(alertingConfig(MODEL, { refreshIntervalMs: 1000 }), { logger });
  });
  afterAll(async () => rt?.stop());

  it('fires on a transition with the machine labels, health and contributions; repeats stay one alert', async () => {
    const nats = transitions();
    const sentAt = Date.now();
    await send('pump-1', critical);
    await waitUntil(
      async () => (await amAlerts(MODEL)).length === 1,
      10_000,
      () => 'no alert in Alertmanager',
    );
    const latencyMs = Date.now() - sentAt;
    const [alert] = await amAlerts(MODEL);
    expect(alert!.labels).toEqual({
      alertname: ALERT_NAME,
      namespace: NAMESPACE,
      model: MODEL,
      machine: 'pump-1',
      severity: 'critical',
    });
    expect(alert!.status.state).toBe('active');
    expect(alert!.annotations).toMatchObject({
      health_score: expect.any(String) as string,
      model_version: 'fallback',
      fallback: 'true',
    });
    expect(alert!.annotations['top_contributions']).toMatch(/^temperature=/);
    // The same state again, and refreshes for 2.5 s: still one alert, its endsAt moved on.
    for (let i = 0; i < 5; i++) await send('pump-1', critical);
    const firstEnds = Date.parse(alert!.endsAt);
    await new Promise((r) => setTimeout(r, 2500));
    const after = await amAlerts(MODEL);
    expect(after).toHaveLength(1);
    expect(Date.parse(after[0]!.endsAt)).toBeGreaterThan(firstEnds);
    expect(await metric(rt, 'sent')).toBeGreaterThanOrEqual(3);
    expect(nats.messages.map((m) => `${m.json['from']}>${m.json['to']}`)).toEqual(['ok>critical']);
    console.log(`[alertmanager] reading published → alert in GET /api/v2/alerts: ${latencyMs} ms`);
    nats.stop();
  });

  it('an escalation resolves the warning and fires the critical; a return to ok resolves', async () => {
    await send('pump-2', warning);
    await waitUntil(
      async () => (await amAlerts(MODEL)).some((a) => a.labels['machine'] === 'pump-2'),
      10_000,
      () => 'no warning of pump-2',
    );
    expect((await amAlerts(MODEL)).find((a) => a.labels['machine'] === 'pump-2')!.labels['severity']).toBe(
      'warning',
    );
    await send('pump-2', critical);
    await waitUntil(
      async () => {
        const of2 = (await amAlerts(MODEL)).filter((a) => a.labels['machine'] === 'pump-2');
        return of2.length === 1 && of2[0]!.labels['severity'] === 'critical';
      },
      10_000,
      () => 'warning of pump-2 not replaced by a critical',
    );
    await send('pump-2');
    await waitUntil(
      async () => !(await amAlerts(MODEL)).some((a) => a.labels['machine'] === 'pump-2'),
      10_000,
      () => 'pump-2 not resolved',
    );
  });

  it('a restarted runtime continues the active alert: no second firing, refreshed, then resolved', async () => {
    const nats = transitions();
    await rt.stop();
    rt = await startRuntime(alertingConfig(MODEL, { refreshIntervalMs: 1000 }), { logger });
    const before = Date.parse((await amAlerts(MODEL))[0]!.endsAt);
    for (let i = 0; i < 3; i++) await send('pump-1', critical);
    await waitUntil(
      async () => Date.parse((await amAlerts(MODEL))[0]?.endsAt ?? '0') > before,
      10_000,
      () => 'pump-1 not refreshed by the new runtime',
    );
    expect(await metric(rt, 'sent')).toBeGreaterThanOrEqual(1);
    expect((await amAlerts(MODEL)).map((a) => a.labels['machine'])).toEqual(['pump-1']);
    // Fallback readings are scored at once; give a second firing time to show up if it were sent.
    await new Promise((r) => setTimeout(r, 500));
    expect(nats.messages).toEqual([]);
    await send('pump-1');
    await waitUntil(
      async () => (await amAlerts(MODEL)).length === 0,
      10_000,
      () => 'pump-1 not resolved',
    );
    await nats.waitFor(1);
    expect(nats.messages.map((m) => `${m.json['from']}>${m.json['to']}`)).toEqual(['critical>ok']);
    nats.stop();
  });
});

describe('Alertmanager down', () => {
  const MODEL = 'pump-outage';
  let rt: Runtime;

  beforeAll(async () => {
    rt = await startRuntime(
      alertingConfig(MODEL, {
        refreshIntervalMs: 1000,
        maxPending: 3,
        retry: { initialMs: 100, maxMs: 500 },
      }),
      { logger },
    );
  });
  afterAll(async () => rt?.stop());

  it('scoring goes on, deliveries are retried and arrive when it is back; a full queue drops, counted, and heals', async () => {
    await am.stop();
    const predictions = collect(nc, `prognos.predictions.${NAMESPACE}.${MODEL}.>`);
    const machines = ['p-1', 'p-2', 'p-3', 'p-4', 'p-5'];
    const started = Date.now();
    for (const m of machines) await send(m, critical);
    for (let i = 0; i < 50; i++) await send(`ok-${i % 5}`);
    await predictions.waitFor(55, 10_000);
    const scoredMs = Date.now() - started;
    await waitUntil(
      async () => (await rt.metrics.alertmanager.postFailures.get()).values[0]!.value >= 2,
      10_000,
      () => 'no failed POSTs',
    );
    expect(await metric(rt, 'dropped')).toBeGreaterThanOrEqual(2);
    expect((await rt.metrics.alertmanager.pending.get()).values[0]!.value).toBeLessThanOrEqual(3);
    const upAt = Date.now();
    await am.start();
    await waitUntil(
      async () => (await amAlerts(MODEL)).length === machines.length,
      15_000,
      () => 'not every active alert delivered after the outage',
    );
    const healedMs = Date.now() - upAt;
    expect((await amAlerts(MODEL)).map((a) => a.labels['machine'])).toEqual(machines);
    console.log(
      `[alertmanager] outage: 55 readings scored in ${scoredMs} ms with Alertmanager down; all ${machines.length} alerts in Alertmanager ${healedMs} ms after it came back (maxPending 3, refresh 1 s)`,
    );
    predictions.stop();
  });
});

describe('Alertmanager that accepts connections and never answers', () => {
  it('scoring is not held up: each POST times out and is retried', async () => {
    const sockets: Socket[] = [];
    const server = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const config = alertingConfig('pump-hang', { refreshIntervalMs: 1000, timeoutMs: 300 });
    config.alerting!.alertmanager.url = `http://127.0.0.1:${port}`;
    const rt = await startRuntime(config, { logger });
    try {
      const predictions = collect(nc, `prognos.predictions.${NAMESPACE}.pump-hang.>`);
      const started = Date.now();
      for (let i = 0; i < 30; i++) await send(`h-${i % 3}`, i % 2 ? critical : {});
      await predictions.waitFor(30, 10_000);
      const scoredMs = Date.now() - started;
      await waitUntil(
        async () => (await rt.metrics.alertmanager.postFailures.get()).values[0]!.value >= 2,
        10_000,
        () => 'no timed-out POSTs',
      );
      expect(sockets.length).toBeGreaterThanOrEqual(2);
      console.log(`[alertmanager] hanging Alertmanager: 30 readings scored in ${scoredMs} ms`);
      predictions.stop();
    } finally {
      // A third of the grace goes to delivering what is queued, which cannot succeed here.
      await rt.stop(3_000);
      for (const s of sockets) s.destroy();
      server.close();
    }
  });
});

describe('delivery latency', () => {
  it('from the reading published to the alert listed by GET /api/v2/alerts, 20 machines one by one', async () => {
    const rt = await startRuntime(alertingConfig('pump-latency', { refreshIntervalMs: 60_000 }), { logger });
    try {
      const ms: number[] = [];
      for (let i = 0; i < 20; i++) {
        const machine = `l-${i}`;
        const t0 = performance.now();
        await send(machine, critical);
        await waitUntil(
          async () => (await amAlerts('pump-latency')).some((a) => a.labels['machine'] === machine),
          10_000,
          () => `${machine} not in Alertmanager`,
        );
        ms.push(performance.now() - t0);
      }
      ms.sort((a, b) => a - b);
      const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))]!.toFixed(0);
      const hist = (await rt.metrics.alertmanager.deliverySeconds.get()).values;
      const sum = hist.find((v) => v.metricName?.endsWith('_sum'))!.value;
      const count = hist.find((v) => v.metricName?.endsWith('_count'))!.value;
      console.log(
        `[alertmanager] latency over 20 alerts: min ${q(0)} ms, median ${q(0.5)} ms, p95 ${q(0.95)} ms, max ${q(1)} ms (API polled every 20 ms); queued → accepted by Alertmanager: mean ${((1000 * sum) / count).toFixed(1)} ms over ${count}`,
      );
      expect(ms.at(-1)).toBeLessThan(5_000);
    } finally {
      await rt.stop();
    }
  });
});

describe('basic auth from files, rotated', () => {
  const USER = 'prognos';
  /** bcrypt (cost 10) of the two passwords: Alertmanager's web config takes hashes only. */
  const FIRST = {
    password: 'prognos-test-password',
    hash: '$2a$10$uNMQGFdBLT/Agal9SWS2BO3KqGAjrTd/GA7qN3HjqneXy1DIlRady',
  };
  const SECOND = {
    password: 'rotated-test-password',
    hash: '$2a$10$EBKlgY5j58NkZl.vQiQuu.7xO3qKVreA.E8D4IrUi0rNVa1zlFlS2',
  };
  const webConfig = (hash: string) => `basic_auth_users:\n  ${USER}: '${hash}'\n`;

  it('a password rotated in its file is used by the next POST, without a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prognos-am-auth-'));
    const secured = await startAlertmanager({
      binary: (await ensureBinaries()).alertmanager,
      dir: join(dir, 'am'),
      webConfig: webConfig(FIRST.hash),
      auth: { username: USER, password: FIRST.password },
    });
    writeFileSync(join(dir, 'username'), `${USER}\n`);
    writeFileSync(join(dir, 'password'), FIRST.password);
    const config = alertingConfig('pump-auth', {
      refreshIntervalMs: 1000,
      retry: { initialMs: 100, maxMs: 500 },
      basicAuth: { usernameFile: join(dir, 'username'), passwordFile: join(dir, 'password') },
    });
    config.alerting!.alertmanager.url = secured.url;
    const rt = await startRuntime(config, { logger });
    const listed = async (machine: string, auth: { username: string; password: string }) => {
      const res = await secured.get(`/api/v2/alerts?filter=${encodeURIComponent('model="pump-auth"')}`, auth);
      return (
        res.status === 200 && (JSON.parse(res.body) as AmAlert[]).some((a) => a.labels['machine'] === machine)
      );
    };
    try {
      await send('a-1', critical);
      await waitUntil(
        () => listed('a-1', { username: USER, password: FIRST.password }),
        10_000,
        () => 'a-1 not delivered',
      );
      // Alertmanager now wants the second password: POSTs fail (401) until the file has it.
      writeFileSync(secured.webConfigFile, webConfig(SECOND.hash));
      await send('a-2', critical);
      await waitUntil(
        async () => (await rt.metrics.alertmanager.postFailures.get()).values[0]!.value >= 1,
        10_000,
        () => 'no 401 with the old password',
      );
      writeFileSync(join(dir, 'password'), SECOND.password);
      await waitUntil(
        () => listed('a-2', { username: USER, password: SECOND.password }),
        10_000,
        () => 'a-2 not delivered',
      );
    } finally {
      await rt.stop();
      await secured.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
