import { KubeConfig } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { inject } from 'vitest';
import { runControlAction } from '../cluster/controlServer.ts';
import type { EnvironmentInfo } from '../cluster/environment.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The environment globalSetup.ts started for this test run. */
    prognosEnv: EnvironmentInfo;
  }
}

/** The environment (kubeconfig, NATS URL, kubectl, ...) this test run shares. */
export function testEnv(): EnvironmentInfo {
  return inject('prognosEnv');
}

/** A client-node KubeConfig for the admin user of the test cluster. */
export function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(testEnv().kubeconfig);
  return kc;
}

export interface KubectlResult {
  stdout: string;
  stderr: string;
  /** Exit code; non-zero does not throw, so tests can assert on failures. */
  code: number;
}

export interface KubectlOptions {
  /** Written to kubectl's stdin (for `apply -f -`). */
  input?: string;
  timeoutMs?: number;
}

/** Runs the kubectl built with the control plane against the test cluster. */
export function kubectl(args: string[], opts: KubectlOptions = {}): Promise<KubectlResult> {
  const env = testEnv();
  return new Promise((resolve) => {
    const child = execFile(
      env.kubectl,
      args,
      {
        env: { ...process.env, KUBECONFIG: env.kubeconfig },
        timeout: opts.timeoutMs ?? 60_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ stdout, stderr, code });
      },
    );
    child.stdin?.end(opts.input ?? '');
  });
}

/** Restarts the test cluster's API server (same port and store); resolves once it is ready again. */
export function restartApiServer(): Promise<void> {
  return runControlAction(testEnv().controlUrl, 'restart-apiserver');
}

/** Restarts the test run's nats-server (same port and JetStream store). */
export function restartNats(): Promise<void> {
  return runControlAction(testEnv().controlUrl, 'restart-nats');
}
