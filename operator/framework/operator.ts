import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Controller } from './controller.ts';
import { EventRecorder } from './events.ts';
import { TermFence, type Fence } from './fence.ts';
import { startHealthServer } from './healthServer.ts';
import { InformerCache } from './informerCache.ts';
import { KubeClient } from './kubeClient.ts';
import { LeaderElector, type LeaderElectionOptions } from './leaderElection.ts';
import { createMetrics, type FrameworkMetrics } from './metrics.ts';
import { listerWatcher } from './reflector.ts';

export interface OperatorOptions {
  kubeConfig: KubeConfig;
  /** This replica's name in the Lease and in Events; default `<hostname>_<random>`. */
  identity?: string;
  /** Lease to campaign for; false runs as leader at once (single replica, tests). */
  leaderElection: Omit<LeaderElectionOptions, 'identity'> | false;
  /** /healthz, /readyz, /metrics; false for none. Port 0 picks a free port. */
  health?: { port: number; host?: string } | false;
  /**
   * Every cached object is re-delivered this often. Default 10 h, as controller-runtime: a resync
   * reconciles everything at once, and polling external state is what `requeueAfterMs` is for.
   */
  resyncPeriodMs?: number;
  /**
   * On SIGTERM or stop(): how long in-flight reconciles may finish (the Lease is renewed meanwhile).
   * Default 20 s, inside the pod's 30 s terminationGracePeriodSeconds with room for the stop hooks.
   */
  shutdownGraceMs?: number;
  /** On SIGTERM: exit 1 when the whole shutdown (reconciles, hooks, release) takes longer. Default 28 s. */
  shutdownTimeoutMs?: number;
  /** On a lost lease: must end before another replica may lead (leaseDuration - renewDeadline = 3 s). Default 2 s. */
  lostLeaseGraceMs?: number;
  /** Stop gracefully and exit on SIGTERM/SIGINT. Default true; tests running several Operators turn it off. */
  handleSignals?: boolean;
  /** Events' reportingController. Default "prognos.dev/operator". */
  eventSource?: string;
  registry?: Registry;
  logger?: Logger;
}

interface Term {
  informers: InformerCache;
  fence: TermFence | undefined;
  abort: AbortController;
  started: Promise<void>;
  synced: boolean;
}

/**
 * The manager: holds the KubeConfig and client, the registered controllers and, for each term as
 * leader, one set of shared informers (one per kind and selection) they all use. Lifecycle:
 * start() → health server → leader election → on leading: informers, sync, workers. Each term's
 * controllers write through a client and an Event recorder fenced by the term (fence.ts). A lost
 * lease stops workers and informers and campaigns again; stop() (SIGTERM) stops taking work, lets
 * running reconciles finish while the Lease is still renewed, stops informers, runs the stop hooks
 * (NATS drain, telemetry) and releases the Lease.
 *
 * Subclass it to assemble an operator, or register controllers on an instance.
 */
export class Operator {
  readonly client: KubeClient;
  readonly metrics: FrameworkMetrics;
  readonly log: Logger;
  readonly identity: string;
  readonly #options: OperatorOptions;
  readonly #controllers: Controller<KubernetesObject>[] = [];
  readonly #stopHooks: (() => void | Promise<void>)[] = [];
  readonly #stop = new AbortController();
  #elector: LeaderElector | undefined;
  #electing: Promise<void> | undefined;
  #term: Term | undefined;
  #health: { port: number; close(): Promise<void> } | undefined;
  #stopping: Promise<void> | undefined;
  /** Set as stop() begins (before its first await), so the term ending sees it. */
  #shuttingDown = false;

  constructor(options: OperatorOptions) {
    this.#options = options;
    this.identity = options.identity ?? `${hostname()}_${randomUUID().slice(0, 8)}`;
    this.log = (options.logger ?? pino({ name: 'prognos-operator' })).child({ identity: this.identity });
    this.client = new KubeClient(options.kubeConfig);
    this.metrics = createMetrics(options.registry);
  }

  register<T extends KubernetesObject>(controller: Controller<T>): this {
    if (this.#electing) throw new Error('register controllers before start()');
    this.#controllers.push(controller as unknown as Controller<KubernetesObject>);
    return this;
  }

  /** Runs on stop(), after the controllers stopped and before the Lease is released (in order). */
  onStop(hook: () => void | Promise<void>): this {
    this.#stopHooks.push(hook);
    return this;
  }

  /** The health server's port (useful with port 0). */
  get healthPort(): number | undefined {
    return this.#health?.port;
  }

  isLeader(): boolean {
    return this.#term !== undefined;
  }

  /** Leading with every informer synced and every controller running. */
  isRunning(): boolean {
    return this.#term?.synced ?? false;
  }

  /** Undefined when ready: a standby is ready (it can take over); a leader once its informers synced. */
  notReadyReason(): string | undefined {
    if (this.#shuttingDown) return 'shutting down';
    if (this.#term && !this.#term.synced) return 'informers not synced';
    return undefined;
  }

  /** Starts serving health and campaigning (or leading at once); resolves without waiting for leadership. */
  async start(): Promise<void> {
    if (this.#electing) return;
    const { health, leaderElection } = this.#options;
    if (health) {
      this.#health = await startHealthServer({
        ...health,
        registry: this.metrics.registry,
        notReadyReason: () => this.notReadyReason(),
      });
    }
    if (this.#options.handleSignals ?? true) {
      const onSignal = (signal: string) => {
        this.log.info({ signal }, 'shutting down');
        const timeoutMs = this.#options.shutdownTimeoutMs ?? 28_000;
        const timer = setTimeout(() => {
          this.log.error({ timeoutMs }, 'shutdown did not finish in time: exiting');
          process.exit(1);
        }, timeoutMs);
        timer.unref();
        void this.stop().then(
          () => process.exit(0),
          (err: unknown) => {
            this.log.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
    }
    if (leaderElection) {
      this.#elector = new LeaderElector(
        this.client,
        { ...leaderElection, identity: this.identity },
        { onStartedLeading: (fence) => this.#beginTerm(fence), onStoppedLeading: () => this.#endTerm() },
        this.log,
        this.metrics,
      );
      this.#electing = this.#elector.run(this.#stop.signal);
    } else {
      this.#beginTerm(undefined);
      this.#electing = Promise.resolve();
    }
  }

  /**
   * Graceful stop; idempotent. The term ends first, while the elector still renews, so in-flight
   * reconciles may finish their writes; then the hooks run and the elector releases the Lease.
   */
  stop(): Promise<void> {
    this.#shuttingDown = true;
    this.#stopping ??= (async () => {
      await this.#endTerm();
      for (const hook of this.#stopHooks) {
        try {
          await hook();
        } catch (err) {
          this.log.warn({ err }, 'a stop hook failed');
        }
      }
      this.#stop.abort();
      await this.#electing; // with leader election, this releases the Lease
      await this.#health?.close();
      this.log.info('stopped');
    })();
    return this.#stopping;
  }

  /**
   * Must not block: the elector only starts renewing once this returns. Without leader election the
   * term has its own fence, revoked once its controllers stopped.
   */
  #beginTerm(leaseFence: Fence | undefined): void {
    if (this.#shuttingDown) return;
    const own = leaseFence ? undefined : new TermFence();
    const fence = leaseFence ?? own!;
    const client = this.client.fenced(fence);
    const informers = new InformerCache(
      (o) => listerWatcher(this.client, o, o),
      this.log,
      this.#options.resyncPeriodMs ?? 36_000_000,
    );
    const events = new EventRecorder(client, {
      controller: this.#options.eventSource ?? 'prognos.dev/operator',
      instance: this.identity,
      log: this.log,
    });
    const deps = { client, informers, metrics: this.metrics, events, fence, log: this.log };
    const abort = new AbortController();
    const term: Term = { informers, fence: own, abort, synced: false, started: Promise.resolve() };
    this.#term = term;
    term.started = (async () => {
      for (const c of this.#controllers) c.setUp(deps);
      informers.start();
      if (!(await informers.waitForSync(abort.signal))) return;
      for (const c of this.#controllers) c.start();
      term.synced = true;
      this.log.info({ controllers: this.#controllers.map((c) => c.name) }, 'controllers running');
    })().catch((err: unknown) => this.log.error({ err }, 'could not start the controllers'));
  }

  async #endTerm(): Promise<void> {
    const term = this.#term;
    if (!term) return;
    this.#term = undefined;
    term.abort.abort();
    await term.started;
    const graceMs = this.#shuttingDown
      ? (this.#options.shutdownGraceMs ?? 20_000)
      : (this.#options.lostLeaseGraceMs ?? 2_000);
    await Promise.all(this.#controllers.map((c) => c.stop(graceMs)));
    term.fence?.revoke('the operator stopped');
    await term.informers.stop();
  }
}
