import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEnvironment } from '../cluster/environment.ts';
import './env.ts';

/**
 * Starts one fresh environment (control plane, NATS, pod runner) in a temporary directory for the
 * whole integration run, never the developer's `.prognos-env`. Its logs are kept when the run fails
 * to start or PROGNOS_KEEP_ENV is set; otherwise the directory is removed on teardown.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stateDir = mkdtempSync(join(tmpdir(), 'prognos-it-'));
  const started = Date.now();
  const env = await startEnvironment({ stateDir });
  console.log(
    `integration environment ready in ${((Date.now() - started) / 1000).toFixed(1)} s (${stateDir})`,
  );
  project.provide('prognosEnv', {
    kubeconfig: env.kubeconfig,
    natsUrl: env.natsUrl,
    apiServerUrl: env.apiServerUrl,
    kubectl: env.kubectl,
    binDir: env.binDir,
    stateDir: env.stateDir,
    controlUrl: env.controlUrl,
  });
  return async () => {
    await env.stop();
    if (!process.env.PROGNOS_KEEP_ENV) rmSync(stateDir, { recursive: true, force: true });
  };
}
