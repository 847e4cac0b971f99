// Per-caller token buckets for the gRPC API: a caller may make `burst` calls at once and
// `requestsPerSecond` on average; past that a call is refused (RESOURCE_EXHAUSTED) rather than
// queued, so one noisy client cannot take the scorer from the others.

export interface RateLimitSpec {
  requestsPerSecond: number;
  burst: number;
}

/** Callers tracked at once; past it idle (refilled) buckets go first, then the least recently used. */
export const MAX_TRACKED_CALLERS = 10_000;

interface Bucket {
  tokens: number;
  at: number;
}

export class CallerRateLimiter {
  readonly #perMs: number;
  readonly #burst: number;
  readonly #maxCallers: number;
  /** In order of last use (re-inserted on every take), so the first entry is the least recently used. */
  readonly #buckets = new Map<string, Bucket>();

  constructor(spec: RateLimitSpec, maxCallers = MAX_TRACKED_CALLERS) {
    this.#perMs = spec.requestsPerSecond / 1000;
    this.#burst = spec.burst;
    this.#maxCallers = maxCallers;
  }

  get trackedCallers(): number {
    return this.#buckets.size;
  }

  /** Takes one call from `caller`'s bucket at `nowMs`; false when the bucket is empty. */
  take(caller: string, nowMs: number): boolean {
    let bucket = this.#buckets.get(caller);
    if (bucket) {
      this.#buckets.delete(caller);
      bucket.tokens = this.#refilled(bucket, nowMs);
      bucket.at = nowMs;
    } else {
      if (this.#buckets.size >= this.#maxCallers) this.#evict(nowMs);
      bucket = { tokens: this.#burst, at: nowMs };
    }
    this.#buckets.set(caller, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  #refilled(bucket: Bucket, nowMs: number): number {
    return Math.min(this.#burst, bucket.tokens + Math.max(0, nowMs - bucket.at) * this.#perMs);
  }

  /** A full bucket behaves as no bucket, so forgetting those changes nothing; else the least recently used goes. */
  #evict(nowMs: number): void {
    for (const [caller, bucket] of this.#buckets)
      if (this.#refilled(bucket, nowMs) >= this.#burst) this.#buckets.delete(caller);
    if (this.#buckets.size >= this.#maxCallers) {
      const oldest = this.#buckets.keys().next().value;
      if (oldest !== undefined) this.#buckets.delete(oldest);
    }
  }
}
