import type { Logger } from 'pino';
import { sleep } from './backoff.ts';
import { TermFence, type Fence } from './fence.ts';
import { isConflict, isNotFound, type KubeClient } from './kubeClient.ts';
import {
  decideLease,
  nextLeaseSpec,
  releasedLeaseSpec,
  type LeaseSpec,
  type Observation,
} from './leaseDecision.ts';
import type { FrameworkMetrics } from './metrics.ts';
import { microTime } from './microTime.ts';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  /** Unique per replica: the pod name plus a random suffix. */
  identity: string;
  leaseDurationSeconds?: number;
  renewDeadlineSeconds?: number;
  retryPeriodSeconds?: number;
}

export interface LeaderCallbacks {
  /** `fence` guards every write of this term: revoked as the term ends, and lapsing with the renewals. */
  onStartedLeading(fence: Fence): void | Promise<void>;
  /** Awaited before this replica campaigns again: stop everything that acts as leader. */
  onStoppedLeading(): void | Promise<void>;
}

/** One attempt: written (acquired or renewed), someone else holds the lease, or it failed. */
type Attempt = 'held' | 'taken' | 'failed';

interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

/**
 * Shorter than client-go's 15 s / 10 s / 2 s so that a crashed leader is replaced in under 15 s: the
 * last renewal is up to one retry before the crash, a standby counts the lease from when it saw that
 * renewal (up to one jittered retry later) and acquires at its first try after expiry, so 9 + 2 × 2.4
 * = 13.8 s at worst. Renewals stay one write per 2 s.
 */
export const LEASE_TIMING = { leaseDurationSeconds: 9, renewDeadlineSeconds: 6, retryPeriodSeconds: 2 };

/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection: candidates try
 * every retryPeriod (jittered); the leader renews every retryPeriod and steps down when it could not
 * renew for renewDeadline, or at once when it finds the Lease held by someone else. Since renewDeadline
 * (6 s) < leaseDuration (9 s), a leader that lost contact stops acting 3 s before anyone else may take
 * over; the term's fence (fence.ts) enforces that at each write, not only when the loop notices.
 *
 * On a lost lease we do not exit the process (controller-runtime does): the callbacks stop every
 * controller and informer of this Operator, which is all that acts as leader in this process, and
 * the replica goes back to being a candidate. On shutdown the lease is released, so a standby takes
 * over at its next try (~2 s) instead of after the lease expires.
 */
export class LeaderElector {
  readonly #client: KubeClient;
  readonly #opts: Required<LeaderElectionOptions>;
  readonly #callbacks: LeaderCallbacks;
  readonly #log: Logger;
  readonly #metrics: FrameworkMetrics | undefined;
  #observed: Observation | undefined;
  #leading = false;

  constructor(
    client: KubeClient,
    options: LeaderElectionOptions,
    callbacks: LeaderCallbacks,
    log: Logger,
    metrics?: FrameworkMetrics,
  ) {
    this.#client = client;
    this.#opts = { ...LEASE_TIMING, ...options };
    this.#callbacks = callbacks;
    this.#log = log.child({ lease: `${options.namespace}/${options.name}`, identity: options.identity });
    this.#metrics = metrics;
  }

  isLeader(): boolean {
    return this.#leading;
  }

  /** Campaigns, leads, and campaigns again after a loss, until `signal` aborts; then releases. Never throws. */
  async run(signal: AbortSignal): Promise<void> {
    const retryMs = this.#opts.retryPeriodSeconds * 1000;
    this.#setLeading(false); // a standby reports 0, not nothing
    while (!signal.aborted) {
      try {
        const started = performance.now();
        if ((await this.#tryAcquireOrRenew(signal)) === 'held') {
          await this.#lead(signal, started);
          continue;
        }
      } catch (err) {
        // Only a callback can throw here; leadership was given up in #lead's finally.
        this.#log.error({ err }, 'leader election loop failed');
      }
      await sleep(retryMs * (1 + 0.2 * Math.random()), signal);
    }
  }

  async #lead(signal: AbortSignal, acquiredAtMs: number): Promise<void> {
    const deadlineMs = this.#opts.renewDeadlineSeconds * 1000;
    const fence = new TermFence(acquiredAtMs + deadlineMs);
    this.#setLeading(true);
    this.#log.info('became leader');
    try {
      await this.#callbacks.onStartedLeading(fence);
      await this.#renewUntilLost(signal, fence, acquiredAtMs);
    } finally {
      // Stop acting as leader before the lease can go to anyone else: no write passes the fence now.
      fence.revoke(signal.aborted ? 'this replica is shutting down' : 'this replica lost the lease');
      this.#setLeading(false);
      await this.#callbacks.onStoppedLeading();
    }
    if (signal.aborted) await this.#release();
  }

  /** Returns when `signal` aborts, someone else holds the lease, or no renewal succeeded within the renew deadline. */
  async #renewUntilLost(signal: AbortSignal, fence: TermFence, acquiredAtMs: number): Promise<void> {
    const retryMs = this.#opts.retryPeriodSeconds * 1000;
    const deadlineMs = this.#opts.renewDeadlineSeconds * 1000;
    // When the last successful renewal was sent: the lease runs from no earlier than that.
    let lastRenew = acquiredAtMs;
    while (!signal.aborted) {
      await sleep(retryMs, signal);
      if (signal.aborted) return;
      const started = performance.now();
      const left = Math.ceil(deadlineMs - (started - lastRenew));
      const attempt =
        left > 0
          ? await this.#tryAcquireOrRenew(AbortSignal.any([signal, AbortSignal.timeout(left)]))
          : 'failed';
      if (attempt === 'held') {
        lastRenew = started;
        fence.renewed(started, deadlineMs);
      } else if (attempt === 'taken') {
        this.#log.warn('the lease is held by another replica: stepping down');
        return;
      } else if (!signal.aborted && performance.now() - lastRenew >= deadlineMs) {
        this.#log.warn('could not renew the lease within the renew deadline: stepping down');
        return;
      }
    }
  }

  async #tryAcquireOrRenew(signal: AbortSignal): Promise<Attempt> {
    const { namespace, name, identity, leaseDurationSeconds } = this.#opts;
    try {
      const current = await this.#get(signal);
      const { action, observed } = decideLease(
        current && { spec: current.spec, resourceVersion: current.metadata.resourceVersion },
        identity,
        this.#observed,
        performance.now(),
      );
      this.#observed = observed;
      if (action === 'wait') return 'taken';
      const spec = nextLeaseSpec(
        current?.spec,
        identity,
        action,
        leaseDurationSeconds,
        microTime(new Date()),
      );
      const lease: Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace, resourceVersion: current?.metadata.resourceVersion },
        spec,
      };
      await this.#client.request({
        method: current ? 'PUT' : 'POST',
        path: current ? this.#path() : `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`,
        body: lease,
        signal,
      });
      if (action !== 'renew') this.#log.info({ action }, 'acquired the lease');
      return 'held';
    } catch (err) {
      // 409: someone else wrote first (the next attempt reads who); any other error: retry at the next period.
      if (!isConflict(err) && !signal.aborted) this.#log.warn({ err }, 'lease attempt failed');
      return 'failed';
    }
  }

  async #release(): Promise<void> {
    try {
      const current = await this.#get(AbortSignal.timeout(5_000));
      if (!current || current.spec?.holderIdentity !== this.#opts.identity) return;
      await this.#client.request({
        method: 'PUT',
        path: this.#path(),
        body: { ...current, spec: releasedLeaseSpec(current.spec, microTime(new Date())) },
        signal: AbortSignal.timeout(5_000),
      });
      this.#log.info('released the lease');
    } catch (err) {
      this.#log.warn({ err }, 'could not release the lease; it expires on its own');
    }
  }

  async #get(signal: AbortSignal): Promise<Lease | undefined> {
    try {
      return await this.#client.request<Lease>({ path: this.#path(), signal });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  #path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.#opts.namespace}/leases/${this.#opts.name}`;
  }

  #setLeading(leading: boolean): void {
    this.#leading = leading;
    this.#metrics?.leaderStatus.set({ name: this.#opts.name }, leading ? 1 : 0);
  }
}
