import type { V1Container, V1Probe } from '@kubernetes/client-node';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, fstatSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname } from 'node:path';
import { backoffResetAfterMs, crashLoopDelayMs, shouldRestart } from './backoff.ts';
import { sleep } from './listWatch.ts';
import { runProbe, type ProbeTarget } from './probes.ts';
import {
  initialTracker,
  observeProbe,
  probeTiming,
  type ProbeKind,
  type ProbeTracker,
} from './probeState.ts';
import type { ContainerSnapshot, ContainerState, TerminatedState } from './status.ts';
import {
  MAX_LOG_TAIL_BYTES,
  readBounded,
  readLogTail,
  TERMINATION_READ_BYTES,
  terminationMessage,
} from './terminationMessage.ts';

/** Everything needed to start one instance of a container, computed fresh before every (re)start. */
export interface ContainerLaunch {
  /** Executable and argv (the repo's scripts/node24 and the absolute entry file, then args). */
  argv: readonly string[];
  env: Readonly<Record<string, string>>;
  cwd: string;
  logFile: string;
  pidFile: string;
  imageID: string;
  probeTarget: ProbeTarget;
  /** This container's own termination message file (emptied at each start) and its policy. */
  termination: { file: string; policy: string | undefined };
}

/** Why a container cannot start right now: it stays waiting with this reason and message. */
export interface ContainerBlocked {
  reason: string;
  message: string;
  /** Retry later (config errors) or wait for the pod spec to change (image errors). */
  retry: boolean;
}

export interface ContainerHooks {
  prepare(): Promise<ContainerLaunch | ContainerBlocked>;
  onChange(): void;
  log(line: string): void;
  event(type: 'Normal' | 'Warning', reason: string, message: string): void;
}

const retryBlockedMs = 2000;

/**
 * One container of a pod across its restarts: starts the process in its own process group, runs the
 * startup/liveness/readiness probes, restarts it per restartPolicy with CrashLoopBackOff, and kills the
 * whole group when stopped.
 */
export class ContainerRunner {
  readonly spec: V1Container;
  readonly #restartPolicy: string | undefined;
  readonly #graceMs: number;
  readonly #hooks: ContainerHooks;
  #state: ContainerState = { waiting: { reason: 'ContainerCreating' } };
  #lastTerminated: TerminatedState | undefined;
  #restartCount: number;
  #ready = false;
  #started = false;
  #containerID: string | undefined;
  #imageID = '';
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #stopped = new AbortController();
  #crashes = 0;
  #startedAtMs = 0;
  #killReason: string | undefined;
  #termination: { file: string; policy: string | undefined; logFile: string; logOffset: number } | undefined;

  constructor(
    spec: V1Container,
    restartPolicy: string | undefined,
    terminationGraceSeconds: number,
    previousRestartCount: number,
    hooks: ContainerHooks,
  ) {
    this.spec = spec;
    this.#restartPolicy = restartPolicy;
    this.#graceMs = terminationGraceSeconds * 1000;
    this.#restartCount = previousRestartCount;
    this.#hooks = hooks;
  }

  get pid(): number | undefined {
    return this.#child?.exitCode === null && this.#child.signalCode === null ? this.#child.pid : undefined;
  }

  /** True once it exited for good (a container waiting to restart is `waiting`, not `terminated`). */
  get finished(): boolean {
    return 'terminated' in this.#state;
  }

  snapshot(): ContainerSnapshot {
    return {
      name: this.spec.name,
      image: this.spec.image ?? '',
      imageID: this.#imageID,
      ...(this.#containerID !== undefined ? { containerID: this.#containerID } : {}),
      state: this.#state,
      ...(this.#lastTerminated ? { lastTerminated: this.#lastTerminated } : {}),
      restartCount: this.#restartCount,
      ready: this.#ready,
      started: this.#started,
    };
  }

  /** Starts the first instance (or keeps retrying while blocked) in the background. */
  run(): void {
    void this.#startLoop(false);
  }

  async #startLoop(isRestart: boolean): Promise<void> {
    const signal = this.#stopped.signal;
    while (!signal.aborted) {
      let launch: ContainerLaunch | ContainerBlocked;
      try {
        launch = await this.#hooks.prepare();
      } catch (err) {
        launch = { reason: 'CreateContainerError', message: (err as Error).message, retry: true };
      }
      if (signal.aborted) return;
      if ('reason' in launch) {
        const w = 'waiting' in this.#state ? this.#state.waiting : undefined;
        if (w?.reason !== launch.reason || w.message !== launch.message) {
          this.#hooks.event('Warning', 'Failed', `Error: ${launch.reason}: ${launch.message}`);
        }
        this.#setState({ waiting: { reason: launch.reason, message: launch.message } });
        if (!launch.retry) return;
        await sleep(retryBlockedMs, signal);
        continue;
      }
      const error = this.#spawn(launch, isRestart);
      if (error === undefined) return;
      this.#setState({ waiting: { reason: 'RunContainerError', message: error } });
      await sleep(retryBlockedMs, signal);
    }
  }

  #spawn(launch: ContainerLaunch, isRestart: boolean): string | undefined {
    mkdirSync(dirname(launch.logFile), { recursive: true });
    // Like the kubelet's per-container file: a restarted instance starts with an empty message.
    mkdirSync(dirname(launch.termination.file), { recursive: true });
    writeFileSync(launch.termination.file, '');
    const fd = openSync(launch.logFile, 'a');
    const logOffset = fstatSync(fd).size;
    let child: ChildProcess;
    try {
      child = spawn(launch.argv[0]!, launch.argv.slice(1), {
        cwd: launch.cwd,
        env: { ...launch.env },
        stdio: ['ignore', fd, fd],
        // Own process group, so stopping kills everything the container started.
        detached: true,
      });
    } catch (err) {
      return (err as Error).message;
    } finally {
      closeSync(fd);
    }
    if (child.pid === undefined) {
      child.on('error', () => undefined);
      return `could not start ${launch.argv.join(' ')}`;
    }
    mkdirSync(dirname(launch.pidFile), { recursive: true });
    writeFileSync(launch.pidFile, String(child.pid));
    if (isRestart) this.#restartCount++;
    this.#child = child;
    this.#imageID = launch.imageID;
    this.#containerID = `prognos://${randomUUID().replaceAll('-', '')}`;
    this.#startedAtMs = Date.now();
    this.#killReason = undefined;
    this.#termination = { ...launch.termination, logFile: launch.logFile, logOffset };
    const instance = new AbortController();
    this.#ready = false;
    this.#started = this.spec.startupProbe === undefined;
    if (this.spec.readinessProbe === undefined) this.#ready = this.#started;
    this.#exited = new Promise((resolve) => {
      child.on('error', (err) => this.#hooks.log(`container ${this.spec.name}: ${err.message}`));
      child.on('exit', (code, sig) => {
        killGroup(child.pid!, 'SIGKILL');
        rmSync(launch.pidFile, { force: true });
        instance.abort();
        this.#onExit(code, sig);
        resolve();
      });
    });
    this.#setState({ running: { startedAt: apiTime(new Date(this.#startedAtMs)) } });
    this.#hooks.event('Normal', 'Started', `Started container ${this.spec.name}`);
    for (const [kind, probe] of probesOf(this.spec)) {
      void this.#probeLoop(kind, probe, launch.probeTarget, instance.signal);
    }
    return undefined;
  }

  #onExit(code: number | null, sig: NodeJS.Signals | null): void {
    const exitCode = code ?? 128 + (sig ? (constants.signals[sig] ?? 9) : 9);
    const t = this.#termination;
    const written = t
      ? terminationMessage({
          written: readBounded(t.file, TERMINATION_READ_BYTES),
          policy: t.policy,
          exitCode,
          logTail: () => readLogTail(t.logFile, t.logOffset, MAX_LOG_TAIL_BYTES),
        })
      : undefined;
    const message = written ?? this.#killReason;
    const terminated: TerminatedState = {
      exitCode,
      ...(sig ? { signal: constants.signals[sig] } : {}),
      reason: exitCode === 0 ? 'Completed' : 'Error',
      ...(message ? { message } : {}),
      startedAt: apiTime(new Date(this.#startedAtMs)),
      finishedAt: apiTime(new Date()),
      ...(this.#containerID ? { containerID: this.#containerID } : {}),
    };
    this.#child = undefined;
    this.#ready = false;
    this.#started = false;
    if (this.#stopped.signal.aborted || !shouldRestart(this.#restartPolicy, exitCode)) {
      this.#setState({ terminated });
      return;
    }
    if (Date.now() - this.#startedAtMs > backoffResetAfterMs) this.#crashes = 0;
    const delay = crashLoopDelayMs(this.#crashes++);
    this.#lastTerminated = terminated;
    this.#hooks.event('Warning', 'BackOff', `Back-off restarting failed container ${this.spec.name}`);
    this.#setState({
      waiting: {
        reason: 'CrashLoopBackOff',
        message: `back-off ${Math.round(delay / 1000)}s restarting failed container=${this.spec.name}`,
      },
    });
    void sleep(delay, this.#stopped.signal).then(() => this.#startLoop(true));
  }

  async #probeLoop(kind: ProbeKind, probe: V1Probe, target: ProbeTarget, signal: AbortSignal): Promise<void> {
    const timing = probeTiming(probe);
    let tracker: ProbeTracker = initialTracker(kind);
    await sleep(timing.initialDelayMs, signal);
    while (!signal.aborted) {
      const gated = kind === 'startup' ? this.#started : !this.#started;
      if (kind === 'startup' && gated) return;
      if (!gated) {
        const ok = await runProbe(probe, target, timing.timeoutMs);
        if (signal.aborted) return;
        tracker = observeProbe(tracker, ok, timing);
        this.#applyProbe(kind, tracker);
      }
      await sleep(timing.periodMs, signal);
    }
  }

  #applyProbe(kind: ProbeKind, t: ProbeTracker): void {
    if (kind === 'readiness') {
      const ready = t.result === 'success';
      if (ready !== this.#ready) {
        if (!ready) this.#hooks.event('Warning', 'Unhealthy', 'Readiness probe failed');
        this.#ready = ready;
        this.#hooks.onChange();
      }
    } else if (kind === 'startup' && t.result === 'success') {
      this.#started = true;
      if (this.spec.readinessProbe === undefined) this.#ready = true;
      this.#hooks.onChange();
    } else if (t.result === 'failure' && this.#child && this.#killReason === undefined) {
      this.#killReason = `${kind === 'liveness' ? 'Liveness' : 'Startup'} probe failed`;
      this.#hooks.log(`container ${this.spec.name}: ${this.#killReason}, killing it`);
      this.#hooks.event('Warning', 'Unhealthy', this.#killReason);
      this.#hooks.event(
        'Normal',
        'Killing',
        `Container ${this.spec.name} failed ${kind} probe, will be restarted`,
      );
      void this.#kill(this.#graceMs);
    }
  }

  /** SIGTERM to the process group, SIGKILL after the grace period; resolves when it exited. */
  async #kill(graceMs: number): Promise<void> {
    const child = this.#child;
    if (!child?.pid) return;
    const exited = this.#exited;
    killGroup(child.pid, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child.pid!, 'SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** Stops for good: no restart afterwards. */
  async stop(graceMs: number): Promise<void> {
    this.#stopped.abort();
    await this.#kill(graceMs);
    if (!('terminated' in this.#state)) {
      // Never ran (or was waiting to restart): report it as the kubelet does for such containers.
      this.#setState({
        terminated: this.#lastTerminated ?? {
          exitCode: 137,
          reason: 'ContainerStatusUnknown',
          message: 'The container could not be located when the pod was terminated',
          finishedAt: apiTime(new Date()),
        },
      });
    }
  }

  #setState(state: ContainerState): void {
    this.#state = state;
    this.#hooks.onChange();
  }
}

function probesOf(c: V1Container): [ProbeKind, V1Probe][] {
  const out: [ProbeKind, V1Probe][] = [];
  if (c.startupProbe) out.push(['startup', c.startupProbe]);
  if (c.livenessProbe) out.push(['liveness', c.livenessProbe]);
  if (c.readinessProbe) out.push(['readiness', c.readinessProbe]);
  return out;
}

export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

function apiTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
