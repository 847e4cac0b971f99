import { appendFileSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ensureBinaries } from './binaries.ts';
import { startControlPlane, type ControlPlane } from './controlPlane.ts';
import { startControlServer } from './controlServer.ts';
import { startNatsServer, type NatsServer } from './nats.ts';
import { startPodRunner } from './podRunner.ts';
import { stateDirMarker } from './stateDirProcesses.ts';
import { envJsonFile } from './stateFiles.ts';

/** What a running environment offers; `<stateDir>/env.json` holds exactly this. */
export interface EnvironmentInfo {
  /** Admin kubeconfig (client certificate in group system:masters). */
  kubeconfig: string;
  natsUrl: string;
  apiServerUrl: string;
  /** The kubectl built with the control plane (same version as the API server). */
  kubectl: string;
  binDir: string;
  stateDir: string;
  /** Loopback endpoint other processes restart parts through (see controlServer.ts). */
  controlUrl: string;
}

export interface Environment extends EnvironmentInfo {
  nats: NatsServer;
  /** Stops the API server and starts it again on the same port and store; resolves when ready. */
  restartApiServer(): Promise<void>;
  /** Stops the pod runner (and its pods), the control plane and NATS; leaves no process behind. */
  stop(): Promise<void>;
}

export interface EnvironmentOptions {
  stateDir: string;
  /** Run the pod runner that binds and runs pods (default true). */
  podRunner?: boolean;
}

/**
 * Starts etcd, kube-apiserver, kube-controller-manager, a JetStream nats-server and the pod runner
 * with fresh stores in `stateDir` (certificates are reused), writes `<stateDir>/kubeconfig` and
 * `<stateDir>/env.json`, and resolves once everything is ready. Logs go to `<stateDir>/logs/`.
 */
export async function startEnvironment(opts: EnvironmentOptions): Promise<Environment> {
  const stateDir = resolve(opts.stateDir);
  const logDir = join(stateDir, 'logs');
  const envFile = envJsonFile(stateDir);
  mkdirSync(logDir, { recursive: true });
  rmSync(envFile, { force: true });
  rmSync(join(stateDir, 'nats'), { recursive: true, force: true });
  const eventLog = (line: string): void =>
    appendFileSync(join(logDir, 'environment.log'), `${new Date().toISOString()} ${line}\n`);

  const binaries = await ensureBinaries();
  const [cp, nats] = await Promise.allSettled([
    startControlPlane({
      stateDir,
      binaries,
      env: { ...process.env, [stateDirMarker]: stateDir },
      onUnexpectedExit: (name, exit) => eventLog(`${name} exited unexpectedly (${exit})`),
    }),
    startNatsServer({ binary: binaries.natsServer, dir: join(stateDir, 'nats') }),
  ]);
  if (cp.status === 'rejected' || nats.status === 'rejected') {
    await Promise.all([
      cp.status === 'fulfilled' ? cp.value.stop() : undefined,
      nats.status === 'fulfilled' ? nats.value.stop() : undefined,
    ]);
    throw cp.status === 'rejected' ? cp.reason : (nats as PromiseRejectedResult).reason;
  }
  const controlPlane: ControlPlane = cp.value;
  // nats.ts keeps its log next to its store; link it so every log is under logs/.
  rmSync(join(logDir, 'nats-server.log'), { force: true });
  symlinkSync(nats.value.logFile, join(logDir, 'nats-server.log'));

  let podRunner: { stop(): Promise<void> } | undefined;
  if (opts.podRunner ?? true) {
    const podRunnerLog = join(logDir, 'pod-runner.log');
    try {
      podRunner = await startPodRunner({
        kubeconfig: controlPlane.kubeconfig,
        stateDir,
        log: (line) => appendFileSync(podRunnerLog, `${new Date().toISOString()} ${line}\n`),
      });
    } catch (err) {
      await Promise.all([controlPlane.stop(), nats.value.stop()]);
      throw new Error(`pod runner failed to start: ${(err as Error).message}; see ${podRunnerLog}`, {
        cause: err,
      });
    }
  }

  const restartApiServer = async (): Promise<void> => {
    eventLog('restarting kube-apiserver');
    await controlPlane.restartApiServer();
  };
  const restartNats = async (): Promise<void> => {
    eventLog('restarting nats-server');
    await nats.value.restart();
  };
  const control = await startControlServer({
    'restart-apiserver': restartApiServer,
    'restart-nats': restartNats,
  });

  const info: EnvironmentInfo = {
    kubeconfig: controlPlane.kubeconfig,
    natsUrl: nats.value.url,
    apiServerUrl: controlPlane.apiServerUrl,
    kubectl: binaries.kubectl,
    binDir: binaries.dir,
    stateDir,
    controlUrl: control.url,
  };
  writeFileSync(envFile, JSON.stringify(info, null, 2) + '\n');
  eventLog(`ready: ${JSON.stringify(info)}`);

  return {
    ...info,
    nats: nats.value,
    restartApiServer,
    async stop() {
      rmSync(envFile, { force: true });
      await control.close();
      // The pod runner goes first, while the API server can still record its pods stopping.
      await podRunner?.stop();
      await Promise.all([controlPlane.stop(), nats.value.stop()]);
      eventLog('stopped');
    },
  };
}
