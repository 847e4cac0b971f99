import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import type { Binaries } from './binaries.ts';
import { ensureCerts } from './certs.ts';
import {
  apiServerArgs,
  apiServerUrl,
  controllerManagerArgs,
  etcdArgs,
  etcdUrl,
  type ControlPlaneLayout,
} from './controlPlaneFlags.ts';
import { freePort } from './freePort.ts';
import { renderKubeconfig } from './kubeconfig.ts';
import { spawnManaged, type ManagedProcess } from './managedProcess.ts';

export interface ControlPlane {
  apiServerUrl: string;
  /** Admin (system:masters) kubeconfig path. */
  kubeconfig: string;
  /** The processes running right now (the API server's changes on restart). */
  processes(): ManagedProcess[];
  /** Stops the API server and starts it again on the same port and store; resolves when ready. */
  restartApiServer(): Promise<void>;
  /** Stops the controller manager, the API server and etcd, in that order. */
  stop(): Promise<void>;
}

export interface ControlPlaneOptions {
  stateDir: string;
  binaries: Pick<Binaries, 'etcd' | 'kubeApiserver' | 'kubeControllerManager'>;
  /** Where the admin kubeconfig goes (default `<stateDir>/kubeconfig`). */
  kubeconfig?: string;
  /** Environment of the control-plane processes (default: this process's). */
  env?: NodeJS.ProcessEnv;
  onUnexpectedExit?: (name: string, exit: string) => void;
}

const startTimeoutMs = 60_000;

/**
 * Starts etcd, kube-apiserver and kube-controller-manager on free loopback ports with a fresh store
 * (certificates in `<stateDir>/pki` are reused), and resolves once the API server is ready and the
 * controller manager has created the default ServiceAccount, i.e. pods can be created.
 */
export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const { stateDir, binaries } = opts;
  const logDir = join(stateDir, 'logs');
  rmSync(join(stateDir, 'etcd'), { recursive: true, force: true });
  mkdirSync(logDir, { recursive: true });
  const [certs, etcdClientPort, etcdPeerPort, apiServerPort, controllerManagerPort] = await Promise.all([
    ensureCerts(join(stateDir, 'pki')),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const layout: ControlPlaneLayout = {
    stateDir,
    certs,
    etcdClientPort,
    etcdPeerPort,
    apiServerPort,
    controllerManagerPort,
    controllerManagerKubeconfig: join(stateDir, 'kube-controller-manager.kubeconfig'),
  };
  const server = apiServerUrl(layout);
  const pem = (f: string): string => readFileSync(f, 'utf8');
  const kubeconfig = opts.kubeconfig ?? join(stateDir, 'kubeconfig');
  const caPem = pem(certs.caCert);
  writeFileSync(
    kubeconfig,
    renderKubeconfig({
      name: 'prognos',
      server,
      caPem,
      clientCertPem: pem(certs.adminCert),
      clientKeyPem: pem(certs.adminKey),
    }),
    { mode: 0o600 },
  );
  writeFileSync(
    layout.controllerManagerKubeconfig,
    renderKubeconfig({
      name: 'kube-controller-manager',
      server,
      caPem,
      clientCertPem: pem(certs.controllerManagerCert),
      clientKeyPem: pem(certs.controllerManagerKey),
    }),
    { mode: 0o600 },
  );
  const adminTls = { ca: caPem, cert: pem(certs.adminCert), key: pem(certs.adminKey) };

  const spawn = (name: string, binary: string, args: string[]): ManagedProcess =>
    spawnManaged({ name, binary, args, logDir, env: opts.env, onUnexpectedExit: opts.onUnexpectedExit });

  let etcd: ManagedProcess | undefined;
  let apiServer: ManagedProcess | undefined;
  let controllerManager: ManagedProcess | undefined;

  const startApiServer = async (): Promise<ManagedProcess> => {
    const p = spawn('kube-apiserver', binaries.kubeApiserver, apiServerArgs(layout));
    apiServer = p;
    await p.waitUntil(
      'ready (/readyz)',
      async () => (await httpsStatus(`${server}/readyz`, adminTls)) === 200,
      startTimeoutMs,
    );
    return p;
  };

  // The API server's graceful shutdown can wait on long-lived client connections up to its request
  // timeout (60 s); etcd holds all state, so cutting that short loses nothing.
  const apiServerGraceMs = 2_000;
  const stop = async (): Promise<void> => {
    await controllerManager?.stop();
    await apiServer?.stop(apiServerGraceMs);
    await etcd?.stop();
  };

  try {
    etcd = spawn('etcd', binaries.etcd, etcdArgs(layout));
    await etcd.waitUntil(
      'healthy (/health)',
      async () => (await httpStatus(`${etcdUrl(layout)}/health`)) === 200,
      startTimeoutMs,
    );
    await startApiServer();
    const cm = spawn(
      'kube-controller-manager',
      binaries.kubeControllerManager,
      controllerManagerArgs(layout),
    );
    controllerManager = cm;
    await cm.waitUntil(
      'serving the default ServiceAccount',
      async () =>
        (await httpsStatus(`${server}/api/v1/namespaces/default/serviceaccounts/default`, adminTls)) === 200,
      startTimeoutMs,
    );
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    apiServerUrl: server,
    kubeconfig,
    processes: () => [etcd, apiServer, controllerManager].filter((p): p is ManagedProcess => p !== undefined),
    async restartApiServer() {
      await apiServer?.stop(apiServerGraceMs);
      await startApiServer();
    },
    stop,
  };
}

interface Tls {
  ca: string;
  cert: string;
  key: string;
}

function httpsStatus(url: string, tls: Tls): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ...tls, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function httpStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}
