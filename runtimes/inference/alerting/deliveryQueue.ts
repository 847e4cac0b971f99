// Alerts waiting for Alertmanager: at most one per key (machine and severity), the newest state
// replacing a queued one in place (coalescing), and at most `max` keys; past that the oldest key is
// dropped and counted. So an Alertmanager outage costs bounded memory, and what is delivered when it
// returns is each alert's latest state.

export interface Queued<T> {
  key: string;
  item: T;
  /** When the key was first queued (for delivery latency), epoch ms. */
  queuedAt: number;
}

export class DeliveryQueue<T> {
  readonly #max: number;
  readonly #entries = new Map<string, Queued<T>>();
  #dropped = 0;

  constructor(max: number) {
    this.#max = max;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Alerts dropped because the queue was full, since it was made. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Queues or replaces `key`'s item; returns how many were dropped to make room (0 or 1). */
  put(key: string, item: T, now: number): number {
    const queued = this.#entries.get(key);
    if (queued) {
      queued.item = item;
      return 0;
    }
    const dropped = this.#makeRoom();
    this.#entries.set(key, { key, item, queuedAt: now });
    return dropped;
  }

  /** Takes up to n of the oldest entries out of the queue. */
  take(n: number): Queued<T>[] {
    const out: Queued<T>[] = [];
    for (const entry of this.#entries.values()) {
      if (out.length >= n) break;
      out.push(entry);
    }
    for (const e of out) this.#entries.delete(e.key);
    return out;
  }

  /**
   * Puts back what a failed send took, ahead of what came since, unless a newer state of the same key
   * was queued meanwhile (that one wins). Returns how many were dropped to stay within the bound.
   */
  putBack(entries: readonly Queued<T>[]): number {
    const newer = [...this.#entries.values()];
    this.#entries.clear();
    for (const e of entries) this.#entries.set(e.key, e);
    let dropped = 0;
    for (const e of newer) {
      const old = this.#entries.get(e.key);
      if (old) {
        old.item = e.item;
        continue;
      }
      dropped += this.#makeRoom();
      this.#entries.set(e.key, e);
    }
    while (this.#entries.size > this.#max) dropped += this.#makeRoom();
    return dropped;
  }

  #makeRoom(): number {
    if (this.#entries.size < this.#max) return 0;
    const oldest = this.#entries.keys().next().value!;
    this.#entries.delete(oldest);
    this.#dropped += 1;
    return 1;
  }
}

/** Wait before retry `attempt` (1-based): doubling from initialMs up to maxMs, with up to 20% jitter off it. */
export function retryDelayMs(
  attempt: number,
  retry: { initialMs: number; maxMs: number },
  random: () => number = Math.random,
): number {
  const base = Math.min(retry.maxMs, retry.initialMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(base * (1 - 0.2 * random()));
}
