import { pino } from 'pino';
import { KubeClient } from '../../operator/framework/kubeClient.ts';
import { kubeConfig } from './env.ts';

export const silentLog = pino({ level: process.env.PROGNOS_TEST_LOG ?? 'silent' });

export function client(): KubeClient {
  return new KubeClient(kubeConfig());
}

/** A fresh namespace per test file, so files never see each other's objects. */
export async function freshNamespace(c: KubeClient, prefix: string): Promise<string> {
  const name = `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
  await c.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  return name;
}

/** Polls `check` until it returns without throwing, or fails with its last error after `timeoutMs`. */
export async function eventually<T>(
  check: () => T | Promise<T>,
  timeoutMs = 20_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}
