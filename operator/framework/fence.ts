/** Thrown instead of a write by a replica that may no longer act as leader. */
export class FencedError extends Error {
  override readonly name = 'FencedError';
}

/**
 * What a term as leader hands to everything that writes on its behalf: the API client, the Event
 * recorder, NATS writes, artifact fetches and load checks. `signal` aborts when the term ends (lost
 * lease, shutdown), which cancels in-flight requests and kills child processes; `check()` is called
 * right before each write and throws FencedError once the term is over or its lease may have lapsed.
 */
export interface Fence {
  readonly signal: AbortSignal;
  check(): void;
}

/** True when a failure is the fence's doing: a refused write, or anything once the term is over. */
export function isFenced(error: unknown, fence: Fence): boolean {
  return error instanceof FencedError || fence.signal.aborted;
}

/**
 * The fence of one term. Writes are safe while the term lasts and, with leader election, until the
 * renew deadline counted from the start of the last successful renewal: other candidates count the
 * lease duration from when they saw that renewal, which is later, and the renew deadline (6 s) is
 * shorter than the lease duration (9 s). The time check holds even when the elector's own timers run
 * late (a blocked event loop, a paused process), because it reads the clock at the write.
 */
export class TermFence implements Fence {
  readonly #abort = new AbortController();
  readonly #now: () => number;
  #validUntilMs: number;

  /** `validUntilMs` on the `now` clock (default performance.now); Infinity without leader election. */
  constructor(validUntilMs = Infinity, now: () => number = () => performance.now()) {
    this.#validUntilMs = validUntilMs;
    this.#now = now;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** A renewal that started at `startedMs` succeeded. */
  renewed(startedMs: number, renewDeadlineMs: number): void {
    this.#validUntilMs = Math.max(this.#validUntilMs, startedMs + renewDeadlineMs);
  }

  /** Ends the term: every later check throws, and whatever listens to the signal stops. */
  revoke(why: string): void {
    if (!this.#abort.signal.aborted) this.#abort.abort(new FencedError(why));
  }

  check(): void {
    if (this.#abort.signal.aborted) throw this.#abort.signal.reason as FencedError;
    if (this.#now() >= this.#validUntilMs)
      throw new FencedError(
        'the lease was not renewed within the renew deadline: this replica may no longer lead',
      );
  }
}
