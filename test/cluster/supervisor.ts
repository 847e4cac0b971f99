// Keeps one environment alive in the background for `cli.ts up`: started detached, it runs
// startEnvironment and stops it again on SIGTERM/SIGINT/SIGHUP.
// Usage: scripts/node24 test/cluster/supervisor.ts <stateDir>
import { rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { startEnvironment } from './environment.ts';
import { stateDirMarker } from './stateDirProcesses.ts';
import { supervisorErrorFile, supervisorPidFile } from './stateFiles.ts';

const stateDir = resolve(process.argv[2] ?? '');
if (!process.argv[2]) {
  console.error('usage: supervisor.ts <stateDir>');
  process.exit(2);
}
// Inherited by nats-server, the pod runner's processes and the control plane: env:down finds
// survivors by it.
process.env[stateDirMarker] = stateDir;
const pidFile = supervisorPidFile(stateDir);
writeFileSync(pidFile, `${process.pid}\n`);

try {
  const env = await startEnvironment({ stateDir });
  console.log(`${new Date().toISOString()} environment ready: ${env.apiServerUrl} ${env.natsUrl}`);
  // Node does not keep running for signal handlers alone.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`${new Date().toISOString()} ${signal}: stopping`);
    env.stop().then(
      () => {
        clearInterval(keepAlive);
        rmSync(pidFile, { force: true });
        console.log(`${new Date().toISOString()} stopped`);
        process.exit(0);
      },
      (err: Error) => {
        console.error(`${new Date().toISOString()} stop failed: ${err.stack ?? err.message}`);
        rmSync(pidFile, { force: true });
        process.exit(1);
      },
    );
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => shutdown(signal));
} catch (err) {
  const error = err as Error;
  // The CLI prints the message; the stack stays in the supervisor log.
  writeFileSync(supervisorErrorFile(stateDir), `${error.message}\n`);
  console.error(`${new Date().toISOString()} start failed: ${error.stack ?? error.message}`);
  rmSync(pidFile, { force: true });
  process.exit(1);
}
