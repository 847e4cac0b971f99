// The local sandbox: `up` (background), `down`, `status`, `restart-apiserver`, `demo`, `demo-canary`, `watch`, `demo-down`.
// Usage: scripts/node24 test/cluster/cli.ts <command>   (npm run env:up / env:down / demo)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ensureBinaries, repoRoot } from './binaries.ts';
import { buildProgressReporter } from './buildProgress.ts';
import { runControlAction } from './controlServer.ts';
import type { EnvironmentInfo } from './environment.ts';
import { runDemo, runDemoCanary, stopDemo, watchPredictions } from './demo/demo.ts';
import { envSummary } from './envSummary.ts';
import { tail } from './managedProcess.ts';
import { processesOfStateDir, terminate } from './stateDirProcesses.ts';
import { envJsonFile, runningSupervisor, supervisorErrorFile, supervisorLogFile } from './stateFiles.ts';

// PROGNOS_ENV_DIR lets a second sandbox (or a test of this CLI) live elsewhere.
const stateDir = resolve(process.env.PROGNOS_ENV_DIR ?? join(repoRoot, '.prognos-env'));
const envFile = envJsonFile(stateDir);
// Only the start of the environment counts against this: the one-time binary build runs before it,
// for as long as it takes. PROGNOS_UP_TIMEOUT_S shortens it for the test of this CLI.
const upTimeoutMs = Number(process.env.PROGNOS_UP_TIMEOUT_S ?? 180) * 1000;
const downTimeoutMs = 60_000;

function readEnv(): EnvironmentInfo | undefined {
  try {
    return JSON.parse(readFileSync(envFile, 'utf8')) as EnvironmentInfo;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Starts the supervisor in the background unless one runs; resolves with the ready environment. */
async function up(): Promise<EnvironmentInfo> {
  const running = runningSupervisor(stateDir);
  const current = readEnv();
  if (running !== undefined && current) {
    console.log(envSummary(current, undefined));
    return current;
  }
  if (running !== undefined)
    throw new Error(`a supervisor (pid ${running}) is still starting or stopping; try again`);
  const assets = await buildBinaries();
  const started = Date.now();
  // Survivors of a supervisor that was killed would hold on to the state dir's files.
  await terminate(processesOfStateDir(stateDir).map((p) => p.pid));
  mkdirSync(join(stateDir, 'logs'), { recursive: true });
  rmSync(envFile, { force: true });
  rmSync(supervisorErrorFile(stateDir), { force: true });
  const logFile = supervisorLogFile(stateDir);
  const log = openSync(logFile, 'a');
  // The supervisor takes the binaries just built instead of running the build again.
  const env = { ...process.env };
  delete env.PROGNOS_BUILD_SCRIPT;
  const supervisor = spawn(process.execPath, [join(repoRoot, 'test/cluster/supervisor.ts'), stateDir], {
    cwd: repoRoot,
    env: { ...env, PROGNOS_ASSETS: assets },
    detached: true,
    stdio: ['ignore', log, log],
  });
  supervisor.unref();
  let exited = false;
  supervisor.once('exit', () => (exited = true));
  const deadline = started + upTimeoutMs;
  for (;;) {
    const info = readEnv();
    if (info) {
      console.log(envSummary(info, Date.now() - started));
      return info;
    }
    if (exited) {
      const reason = existsSync(supervisorErrorFile(stateDir))
        ? readFileSync(supervisorErrorFile(stateDir), 'utf8')
        : tail(logFile);
      throw new Error(`the environment failed to start (supervisor log: ${logFile}):\n${reason}`);
    }
    if (Date.now() > deadline) {
      // A supervisor still starting has no signal handler yet: stop it and whatever it started.
      process.kill(supervisor.pid!, 'SIGTERM');
      await terminate(processesOfStateDir(stateDir).map((p) => p.pid));
      throw new Error(
        `the environment was not ready within ${upTimeoutMs / 1000} s (stopped); see ${logFile}`,
      );
    }
    await sleep(100);
  }
}

/** Builds the binaries the environment runs, in the foreground and with progress, unless cached. */
async function buildBinaries(): Promise<string> {
  const logFile = join(stateDir, 'logs', 'build.log');
  mkdirSync(join(stateDir, 'logs'), { recursive: true });
  const progress = buildProgressReporter({
    write: (text) => process.stdout.write(text),
    logFile,
    isTTY: process.stdout.isTTY,
  });
  try {
    const binaries = await ensureBinaries({ logFile, onStep: (step) => progress.onStep(step) });
    progress.done(true);
    return binaries.dir;
  } catch (err) {
    progress.done(false);
    throw err;
  }
}

/** Stops the supervisor, then proves that no process of the environment is left. */
async function down(): Promise<void> {
  const started = Date.now();
  const pid = runningSupervisor(stateDir);
  if (pid !== undefined) {
    process.kill(pid, 'SIGTERM');
    const deadline = started + downTimeoutMs;
    while (runningSupervisor(stateDir) === pid && Date.now() < deadline) await sleep(100);
    if (runningSupervisor(stateDir) === pid) {
      console.error(`supervisor (pid ${pid}) did not stop within ${downTimeoutMs / 1000} s; killing it`);
      process.kill(pid, 'SIGKILL');
    }
  }
  const left = processesOfStateDir(stateDir);
  if (left.length > 0) {
    console.error(
      `processes left behind (now killed):\n${left.map((p) => `  ${p.pid} ${p.cmdline}`).join('\n')}`,
    );
    await terminate(left.map((p) => p.pid));
    rmSync(envFile, { force: true });
    process.exitCode = 1;
    return;
  }
  console.log(
    pid === undefined
      ? 'Prognos environment was not running; no process of it is left.'
      : `Prognos environment stopped in ${((Date.now() - started) / 1000).toFixed(1)} s; no process of it is left.`,
  );
}

function status(): void {
  const pid = runningSupervisor(stateDir);
  const info = readEnv();
  if (pid === undefined) console.log('supervisor: not running');
  else console.log(`supervisor: pid ${pid}${info ? ', environment ready' : ', starting or stopping'}`);
  if (info) console.log(envSummary(info, undefined));
  const procs = processesOfStateDir(stateDir);
  console.log(`processes (${procs.length}):`);
  for (const p of procs) console.log(`  ${p.pid} ${p.cmdline.slice(0, 160)}`);
}

function kubectl(info: EnvironmentInfo, args: string[]): void {
  console.log(`$ kubectl ${args.join(' ')}`);
  const r = spawnSync(info.kubectl, args, {
    stdio: 'inherit',
    env: { ...process.env, KUBECONFIG: info.kubeconfig },
  });
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
}

/**
 * Brings the environment up and runs the end-to-end demo on it (see demo/demo.ts): CRDs, the operator
 * process, a model fitted on C-MAPSS, a fleet and a model, a fleet simulator, and how to watch.
 */
async function demo(): Promise<void> {
  const info = await up();
  await runDemo(info);
  kubectl(info, ['get', 'prognos', '-A']);
}

function requireEnv(): EnvironmentInfo {
  const info = readEnv();
  if (!info) throw new Error('the environment is not up (npm run demo)');
  return info;
}

const commands: Record<string, () => unknown> = {
  up,
  down,
  status,
  demo,
  watch: () => watchPredictions(requireEnv()),
  'demo-canary': () => runDemoCanary(requireEnv()),
  'demo-down': () => stopDemo(requireEnv()),
  'restart-apiserver': async () => {
    const info = readEnv();
    if (!info) throw new Error('the environment is not up');
    await runControlAction(info.controlUrl, 'restart-apiserver');
    console.log('kube-apiserver restarted and ready');
  },
};

const command = commands[process.argv[2] ?? ''];
if (!command) {
  console.error(`usage: cli.ts <${Object.keys(commands).join('|')}>`);
  process.exit(2);
}
try {
  await command();
} catch (err) {
  console.error((err as Error).message);
  process.exitCode = 1;
}
