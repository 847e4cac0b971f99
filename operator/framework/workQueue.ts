import type { FrameworkMetrics } from './metrics.ts';
import { defaultControllerRateLimiter, type RateLimiter } from './rateLimiter.ts';

export interface WorkQueueOptions {
  /** The `name` label of the workqueue_* metrics; controllers use their own name. */
  name: string;
  rateLimiter?: RateLimiter;
  metrics?: FrameworkMetrics;
}

/** The longest delay setTimeout honours. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * client-go's rate-limited, delaying work queue. A key is queued at most once (`dirty`), and never
 * handed out while it is being processed (`processing`): a key added during its own reconcile is
 * re-queued when `done` is called, so one key is never reconciled twice at the same time.
 *
 * Unlike client-go, `shutDown` stops handing out queued keys at once instead of draining the queue:
 * on shutdown or lost leadership the next leader lists everything again anyway, and a long queue must
 * not hold the Lease. Reconciles already running finish (the controller waits for its workers).
 */
export class WorkQueue {
  readonly name: string;
  readonly #rateLimiter: RateLimiter;
  readonly #metrics: FrameworkMetrics | undefined;
  #queue: string[] = [];
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #waiting = new Map<string, { readyAt: number; timer: NodeJS.Timeout }>();
  readonly #getters: ((key: string | undefined) => void)[] = [];
  readonly #queuedAt = new Map<string, number>();
  readonly #startedAt = new Map<string, number>();
  #shuttingDown = false;

  constructor(options: WorkQueueOptions) {
    this.name = options.name;
    this.#rateLimiter = options.rateLimiter ?? defaultControllerRateLimiter();
    this.#metrics = options.metrics;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Keys waiting to be handed out (not the delayed ones, not the ones in progress). */
  len(): number {
    return this.#queue.length;
  }

  add(key: string): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#metrics?.queueAdds.inc({ name: this.name });
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    this.#push(key);
  }

  /** Adds `key` once `delayMs` has passed; of several pending delays for a key the earliest wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    // setTimeout takes at most 2^31-1 ms and fires at once beyond it: a far-off time (next year's
    // schedule) waits the longest it can instead, and is looked at again then.
    const delay = Math.min(delayMs, MAX_TIMER_MS);
    const readyAt = performance.now() + delay;
    const pending = this.#waiting.get(key);
    if (pending && pending.readyAt <= readyAt) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.#waiting.delete(key);
      this.add(key);
    }, delay);
    timer.unref();
    this.#waiting.set(key, { readyAt, timer });
  }

  /** Adds `key` after its rate-limited backoff (one more failure). */
  addRateLimited(key: string): void {
    if (this.#shuttingDown) return;
    this.#metrics?.queueRetries.inc({ name: this.name });
    this.addAfter(key, this.#rateLimiter.when(key));
  }

  /** Ends the backoff history of `key`: its next failure starts again at the base delay. */
  forget(key: string): void {
    this.#rateLimiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.#rateLimiter.numRequeues(key);
  }

  /** The next key to process, or undefined once the queue is shut down. Call `done(key)` after. */
  get(): Promise<string | undefined> {
    if (this.#shuttingDown) return Promise.resolve(undefined);
    const key = this.#queue.shift();
    if (key !== undefined) return Promise.resolve(this.#start(key));
    return new Promise((resolve) => this.#getters.push(resolve));
  }

  done(key: string): void {
    this.#processing.delete(key);
    const started = this.#startedAt.get(key);
    this.#startedAt.delete(key);
    if (started !== undefined)
      this.#metrics?.workDuration.observe({ name: this.name }, (performance.now() - started) / 1000);
    if (this.#dirty.has(key) && !this.#shuttingDown) this.#push(key);
  }

  /** Stops handing out keys; pending `get` calls resolve undefined. Queued and delayed keys are dropped. */
  shutDown(): void {
    this.#shuttingDown = true;
    for (const { timer } of this.#waiting.values()) clearTimeout(timer);
    this.#waiting.clear();
    this.#queue = [];
    this.#queuedAt.clear();
    this.#metrics?.queueDepth.set({ name: this.name }, 0);
    for (const g of this.#getters.splice(0)) g(undefined);
  }

  #push(key: string): void {
    const getter = this.#getters.shift();
    if (getter) {
      this.#queuedAt.set(key, performance.now());
      getter(this.#start(key));
      return;
    }
    this.#queue.push(key);
    this.#queuedAt.set(key, performance.now());
    this.#metrics?.queueDepth.set({ name: this.name }, this.#queue.length);
  }

  #start(key: string): string {
    const now = performance.now();
    const queued = this.#queuedAt.get(key);
    this.#queuedAt.delete(key);
    if (queued !== undefined)
      this.#metrics?.queueDuration.observe({ name: this.name }, (now - queued) / 1000);
    this.#metrics?.queueDepth.set({ name: this.name }, this.#queue.length);
    this.#dirty.delete(key);
    this.#processing.add(key);
    this.#startedAt.set(key, now);
    return key;
  }
}
