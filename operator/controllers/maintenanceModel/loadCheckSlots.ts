// At most `limit` artifact load checks at once: each is a Node + ONNX Runtime child process of tens
// of MiB, under the operator's own memory limit. The rest wait in arrival order.

export interface SlotTurn {
  /** Place in the queue (1 = next) when every slot was taken on arrival; undefined when it ran at once. */
  position: number | undefined;
  /** Resolves with the slot's release once it is this turn's. */
  ready: Promise<() => void>;
}

export class LoadCheckSlots {
  readonly #limit: number;
  #running = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`load-check slots must be ≥ 1, got ${limit}`);
    this.#limit = limit;
  }

  get limit(): number {
    return this.#limit;
  }

  /** Checks waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** A turn; one still waiting when `signal` aborts leaves the line and its `ready` rejects. */
  take(signal?: AbortSignal): SlotTurn {
    const release = (): void => {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running -= 1;
    };
    if (this.#running < this.#limit) {
      this.#running += 1;
      return { position: undefined, ready: Promise.resolve(once(release)) };
    }
    // A released slot passes straight to the next in line, so #running stays at the limit.
    const position = this.#waiting.length + 1;
    const ready = new Promise<() => void>((resolve, reject) => {
      const onAbort = (): void => {
        const at = this.#waiting.indexOf(grant);
        if (at >= 0) this.#waiting.splice(at, 1);
        reject(signal!.reason);
      };
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(once(release));
      };
      if (signal?.aborted) return reject(signal.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(grant);
    });
    return { position, ready };
  }
}

function once(f: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    f();
  };
}
