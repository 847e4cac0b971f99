/** Jittered exponential backoff for reconnect loops (reflectors, leader election). */
export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(initialMs = 800, maxMs = 30_000, random: () => number = Math.random) {
    this.#initialMs = initialMs;
    this.#maxMs = maxMs;
    this.#random = random;
  }

  /** The next delay: doubles each time up to the cap, with up to +/-20% jitter so replicas spread out. */
  next(): number {
    const base = Math.min(this.#initialMs * 2 ** this.#attempt, this.#maxMs);
    this.#attempt++;
    return Math.round(base * (0.8 + 0.4 * this.#random()));
  }

  reset(): void {
    this.#attempt = 0;
  }
}

/** Resolves after `ms`, or early (without error) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
